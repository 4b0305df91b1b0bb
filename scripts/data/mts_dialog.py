#!/usr/bin/env python3
"""MTS-Dialog turns for the learned layer (issue 15): extract, batch for reading, merge read labels.

Source: github.com/abachaa/MTS-Dialog (CC BY 4.0), the four original English files in Main-Dataset/
(training, validation, two test sets). The augmented (back-translated) sets are not used.

    python3 scripts/data/mts_dialog.py batches   # write reading batches (never overwrites an existing batch)
    python3 scripts/data/mts_dialog.py merge     # labels -> training/learned/mts-dialog.jsonl
    python3 scripts/data/mts_dialog.py stats     # counts for SOURCES

Labels are decided by reading. A batch holds whole dialogues, every turn numbered. Its label file
(labels/batch-NNN.txt) lists the numbers of the staff turns that are medical advice, one per line, and any
patient turn that is feedback as "<number> feedback <praise|complaint|suggestion>". Every other turn of a
labeled batch is not advice / not feedback. A batch without a label file is not read yet and its dialogues are
left out of the JSONL. Each batch has a manifest (batch-NNN.tsv: number -> id) written with it, so a label file
always resolves to the same turns.

Dialogue ids restart at 0 in each source file, so the group names the file too: mts-train-0042,
mts-val-0004, mts-test1-0106, mts-test2-0059. Turn index = position among the dialogue's non-empty turns.
"""

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys

GIT_DIR = os.environ.get("MTS_GIT_DIR", "/work/.mirror/abachaa+MTS-Dialog/repo")
COMMIT = "3ff0801933608d6f570468c13125125fb5cabdea"
WORK = os.environ.get("MTS_WORK", "/work/fetched/mts")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "training", "learned", "mts-dialog.jsonl")
SOURCE = "mts-dialog"
BATCH_TURNS = 300

# Order matters: when a dialogue appears twice, the first copy in this order is kept.
FILES = [
    ("train", "Main-Dataset/MTS-Dialog-TrainingSet.csv"),
    ("val", "Main-Dataset/MTS-Dialog-ValidationSet.csv"),
    ("test1", "Main-Dataset/MTS-Dialog-TestSet-1-MEDIQA-Chat-2023.csv"),
    ("test2", "Main-Dataset/MTS-Dialog-TestSet-2-MEDIQA-Sum-2023.csv"),
]

# Same conversation as a kept one with a couple of words changed (found by turn overlap, checked by eye).
NEAR_DUPLICATES = {"test2-0078": "train-0543"}

STAFF_TAGS = {"doctor", "docotr", "guest_clinician", "guest_clinican"}
PATIENT_TAGS = {"patient", "guest_family", "gest_family"}
# "Doctor_2:", "Guest_family_1:", "Guest_family2:", and one "Guest_family." with a full stop.
TAG = re.compile(r'^\s*"?\s*([A-Za-z_]+?)_?\d*\s*[:.]\s*')
INLINE_TAG = re.compile(r"(?<=\S)\s+(?=(?:Doctor|Patient|Guest_family|Guest_clinician)(?:_\d)?:\s+\S)")


def split_of(group):
    h = int(hashlib.sha256(f"{SOURCE}/{group}".encode()).hexdigest(), 16)
    return "heldout" if h % 5 == 0 else "train"


def read_csv(path):
    raw = subprocess.run(
        ["git", f"--git-dir={GIT_DIR}", "show", f"{COMMIT}:{path}"], check=True, capture_output=True
    ).stdout.decode("utf-8")
    return list(csv.DictReader(io.StringIO(raw)))


def parse_turns(dialogue):
    """(role, tag, text) per non-empty turn; untagged lines are junk ("Sp 3", ".") and are dropped."""
    turns = []
    # A few lines carry a second speaker mid-line ("... one side. Doctor: This sounds like ..."): split them.
    lines = [part for line in dialogue.split("\n") for part in INLINE_TAG.split(line)]
    for line in lines:
        m = TAG.match(line)
        if not m:
            continue
        tag = m.group(1).lower()
        if tag in STAFF_TAGS:
            role = "staff"
        elif tag in PATIENT_TAGS:
            role = "patient"
        else:
            raise ValueError(f"unknown speaker tag {tag!r}")
        text = re.sub(r"\s+", " ", line[m.end():]).strip().strip('"').strip()
        if text:
            turns.append((role, tag, text))
    return turns


def dialogues():
    """[(dialogue key, section header, turns)] in file order, duplicates removed."""
    seen = {}
    out = []
    dropped = []
    for name, path in FILES:
        for row in read_csv(path):
            key = f"{name}-{int(row['ID']):04d}"
            norm = re.sub(r"\s+", " ", row["dialogue"]).strip().lower()
            if norm in seen:
                dropped.append((key, seen[norm]))
                continue
            if key in NEAR_DUPLICATES:
                dropped.append((key, NEAR_DUPLICATES[key]))
                continue
            seen[norm] = key
            out.append((key, row["section_header"], parse_turns(row["dialogue"])))
    return out, dropped


def ordered():
    """Held-out dialogues first, so the evaluation split is read first; then train."""
    ds, _ = dialogues()
    ds = [d for d in ds if d[2]]
    return [d for d in ds if split_of("mts-" + d[0]) == "heldout"] + [
        d for d in ds if split_of("mts-" + d[0]) == "train"
    ]


def batch_paths(n):
    b = os.path.join(WORK, "batches", f"batch-{n:03d}")
    return b + ".txt", b + ".tsv", os.path.join(WORK, "labels", f"batch-{n:03d}.txt")


def cmd_batches():
    os.makedirs(os.path.join(WORK, "batches"), exist_ok=True)
    os.makedirs(os.path.join(WORK, "labels"), exist_ok=True)
    ds = ordered()
    batches, cur, size = [], [], 0
    for d in ds:
        cur.append(d)
        size += len(d[2])
        if size >= BATCH_TURNS:
            batches.append(cur)
            cur, size = [], 0
    if cur:
        batches.append(cur)
    for n, batch in enumerate(batches, 1):
        txt, tsv, _ = batch_paths(n)
        if os.path.exists(tsv):
            continue
        lines, rows, k = [], [], 0
        for key, header, turns in batch:
            lines.append(f"=== {key} [{split_of('mts-' + key)}] ({header})")
            for i, (role, tag, text) in enumerate(turns):
                k += 1
                # D doctor, C guest clinician (staff); P patient, F family member (patient side).
                if tag in ("doctor", "docotr"):
                    who = "D"
                elif role == "staff":
                    who = "C"
                else:
                    who = "P" if tag == "patient" else "F"
                lines.append(f"{k:>3} {who}: {text}")
                rows.append(f"{k}\tmts-{key}-{i:02d}")
        with open(txt, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        with open(tsv, "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
    print(f"{len(batches)} batches, {len(ds)} dialogues")


def read_labels(n):
    """{id: (labels, feedback_kind)} for the positives of batch n, or None when it is not read yet."""
    _, tsv, lab = batch_paths(n)
    if not os.path.exists(lab):
        return None
    ids = dict(line.split("\t") for line in open(tsv, encoding="utf-8").read().split("\n") if line)
    out = {}
    for lineno, line in enumerate(open(lab, encoding="utf-8"), 1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        parts = line.split()
        if parts[0] not in ids:
            raise ValueError(f"{lab}:{lineno}: no turn {parts[0]} in this batch")
        tid = ids[parts[0]]
        if len(parts) == 1:
            out[tid] = (["medical_advice"], None)
        elif len(parts) == 3 and parts[1] == "feedback" and parts[2] in ("praise", "complaint", "suggestion"):
            out[tid] = (["feedback"], parts[2])
        else:
            raise ValueError(f"{lab}:{lineno}: expected '<n>' or '<n> feedback <kind>'")
    return out, set(ids.values())


def cmd_merge():
    ds = {d[0]: d for d in ordered()}
    done = {}
    covered = set()
    n = 1
    while os.path.exists(batch_paths(n)[1]):
        r = read_labels(n)
        if r is not None:
            pos, ids = r
            done.update(pos)
            covered |= ids
        n += 1
    records = []
    # Write in source order (train, val, test1, test2), not reading order, so the file diffs calmly.
    all_ds, _ = dialogues()
    for key, _, turns in all_ds:
        if key not in ds:
            continue
        group = f"mts-{key}"
        for i, (role, _, text) in enumerate(turns):
            tid = f"{group}-{i:02d}"
            if tid not in covered:
                continue
            labels, kind = done.get(tid, ([], None))
            if labels == ["medical_advice"] and role != "staff":
                raise ValueError(f"{tid}: medical_advice on a patient turn")
            if labels == ["feedback"] and role != "patient":
                raise ValueError(f"{tid}: feedback on a staff turn")
            records.append(
                {
                    "id": tid,
                    "source": SOURCE,
                    "group": group,
                    "split": split_of(group),
                    "role": role,
                    "text": text,
                    "labels": labels,
                    "feedback_kind": kind,
                    "how": "read",
                }
            )
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(records)} records -> {os.path.normpath(OUT)}")


def cmd_stats():
    recs = [json.loads(line) for line in open(OUT, encoding="utf-8")]
    from collections import Counter

    c = Counter()
    groups = {"train": set(), "heldout": set()}
    for r in recs:
        groups[r["split"]].add(r["group"])
        lab = r["labels"][0] if r["labels"] else "none"
        c[(r["split"], r["role"], lab)] += 1
    for k in sorted(c):
        print(*k, c[k])
    print("dialogues", {k: len(v) for k, v in groups.items()})
    print("turns", len(recs))
    all_ds = ordered()
    print("dialogues in source after dedup (non-empty):", len(all_ds),
          "heldout:", sum(1 for d in all_ds if split_of("mts-" + d[0]) == "heldout"))
    _, dropped = dialogues()
    print("dropped duplicates:", dropped)


if __name__ == "__main__":
    commands = {"batches": cmd_batches, "merge": cmd_merge, "stats": cmd_stats}
    name = sys.argv[1] if len(sys.argv) > 1 else "merge"
    if name not in commands:
        sys.exit(f"usage: mts_dialog.py [{'|'.join(commands)}]")
    commands[name]()
