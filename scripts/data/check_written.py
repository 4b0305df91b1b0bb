#!/usr/bin/env python3
"""Validate the hand-written learned-layer data (issue 15) against DATA-SPEC.

Checks every line of training/learned/written-feedback.jsonl and written-patient.jsonl (or the files given): valid JSON,
keys in the spec's order, the sha256 split rule, labels/role/feedback_kind agreeing,
ids unique across all of training/learned, no duplicate texts. Prints counts by kind and split.
Exit status 1 on any problem, naming file, line and problem.
"""
import collections
import glob
import hashlib
import json
import os
import sys

KEYS = ["id", "source", "group", "split", "role", "text", "labels", "feedback_kind", "how"]
EXPECT = {
    "written-feedback": (["feedback"], {"praise", "complaint", "suggestion"}),
    "written-patient": ([], {None}),
}


def split_of(source, group):
    h = int(hashlib.sha256(f"{source}/{group}".encode()).hexdigest(), 16)
    return "heldout" if h % 5 == 0 else "train"


def main(argv):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "training", "learned")
    files = argv[1:] or [os.path.join(root, f"{src}.jsonl") for src in EXPECT]
    problems = []
    ids = {}
    # ids must be unique across every file in the folder, not just the written ones
    for other in sorted(glob.glob(os.path.join(root, "*.jsonl"))):
        if other in files or os.path.abspath(other) in map(os.path.abspath, files):
            continue
        with open(other, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                try:
                    ids[json.loads(line)["id"]] = f"{os.path.basename(other)}:{n}"
                except (ValueError, KeyError, TypeError):
                    pass
    texts = {}
    counts = collections.Counter()
    groups = collections.defaultdict(set)
    for path in files:
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                where = f"{name}:{n}"
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    problems.append(f"{where}: not JSON ({e})")
                    continue
                if not isinstance(rec, dict) or list(rec) != KEYS:
                    problems.append(f"{where}: keys {list(rec) if isinstance(rec, dict) else type(rec)} != {KEYS}")
                    continue
                src = rec["source"]
                if src not in EXPECT or not name.startswith(src):
                    problems.append(f"{where}: unexpected source {src!r}")
                    continue
                labels, kinds = EXPECT[src]
                if rec["labels"] != labels:
                    problems.append(f"{where}: labels {rec['labels']} != {labels}")
                if rec["feedback_kind"] not in kinds:
                    problems.append(f"{where}: feedback_kind {rec['feedback_kind']!r}")
                if rec["role"] != "patient" or rec["how"] != "written":
                    problems.append(f"{where}: role/how {rec['role']}/{rec['how']}")
                if rec["split"] != split_of(src, rec["group"]):
                    problems.append(f"{where}: split {rec['split']} breaks the sha256 rule")
                if not rec["id"].startswith(rec["group"] + "-"):
                    problems.append(f"{where}: id {rec['id']} not under group {rec['group']}")
                if rec["id"] in ids:
                    problems.append(f"{where}: id {rec['id']} also at {ids[rec['id']]}")
                ids[rec["id"]] = where
                text = rec["text"]
                if not isinstance(text, str) or not text.strip():
                    problems.append(f"{where}: empty text")
                    continue
                key = " ".join(text.lower().split())
                if key in texts:
                    problems.append(f"{where}: same text as {texts[key]}")
                texts[key] = where
                kind = rec["feedback_kind"] or "not-feedback"
                counts[(src, kind, rec["split"])] += 1
                groups[src].add(rec["group"])
    for src in sorted({k[0] for k in counts}):
        total = sum(v for k, v in counts.items() if k[0] == src)
        print(f"{src}: {total} messages in {len(groups[src])} groups")
        for kind in sorted({k[1] for k in counts if k[0] == src}):
            tr = counts[(src, kind, "train")]
            ho = counts[(src, kind, "heldout")]
            print(f"  {kind:13} {tr + ho:5}  ({100 * (tr + ho) / total:4.1f}%)  train {tr}  heldout {ho}")
    for p in problems[:50]:
        print("PROBLEM", p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problems", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
