#!/usr/bin/env python3
"""Schema-Guided Dialogue (DSTC8), healthcare services -> training/learned/sgd.jsonl (issue 15).

Dialogues whose services include Services_2, Services_3 or Services_4 (dentists, doctors,
therapists: finding one and booking an appointment). USER turns are role "patient" with labels []
(booking talk is not feedback); SYSTEM turns are role "staff" with labels [] (front-desk talk is
not medical advice). how "source", group = the dialogue (split + dialogue_id). Only the turns
whose frames name one of these services are taken (a dialogue may also book a cab or a salon).

Files of 4 MiB and more are absent from the fetched snapshot; they are skipped and listed.
Turns are deduplicated per role (case-insensitive: "Yes." occurs thousands of times), then a
deterministic stride sample of up to --per-role turns per role is taken in (split, file,
dialogue, turn) order.

usage: sgd.py [--mirror GITDIR] [--per-role 3000] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os

import _common as c

SOURCE = "sgd"
SERVICES = ("Services_2", "Services_3", "Services_4")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", help="bare git dir of google-research-datasets/dstc8-schema-guided-dialogue")
    ap.add_argument("--per-role", type=int, default=3000)
    ap.add_argument("--out", default=os.path.join(c.OUT_DIR, "sgd.jsonl"))
    a = ap.parse_args()
    gitdir = c.mirror("google-research-datasets/dstc8-schema-guided-dialogue", a.mirror)
    files = [p for p in c.ls_files(gitdir) if p.split("/")[0] in ("train", "dev", "test")
             and os.path.basename(p).startswith("dialogues_") and p.endswith(".json")]
    blobs = c.show_many(gitdir, files)
    missing = [p for p in files if blobs.get(p) is None]
    turns = {"patient": [], "staff": []}
    seen = {"patient": set(), "staff": set()}
    dialogues = 0
    for path in files:
        data = blobs.get(path)
        if data is None:
            continue
        split = path.split("/")[0]
        for d in json.loads(data):
            if not any(s in SERVICES for s in d.get("services", [])):
                continue
            dialogues += 1
            group = f"sgd-{split}-{d['dialogue_id']}"
            for i, t in enumerate(d.get("turns", [])):
                if not any(f.get("service") in SERVICES for f in t.get("frames", [])):
                    continue  # the weather, cab, salon... part of a multi-service dialogue
                role = "patient" if t.get("speaker") == "USER" else "staff"
                text = c.clean(t.get("utterance", ""))
                if not text or text.lower() in seen[role]:
                    continue
                seen[role].add(text.lower())
                turns[role].append((path, d["dialogue_id"], i, group, text))
    print(f"{len(files)} dialogue files, {len(missing)} absent from the snapshot (>= 4 MiB): {' '.join(missing)}")
    print(f"{dialogues} dialogues with {'/'.join(SERVICES)}; distinct turns: "
          f"{len(turns['patient'])} user, {len(turns['staff'])} system")
    records = []
    for role in ("patient", "staff"):
        for path, did, i, group, text in c.stride_sample(turns[role], a.per_role):
            rid = f"{group}-{i:02d}"
            records.append(c.record(rid, SOURCE, group, role, text))
    c.write_jsonl(a.out, records)


if __name__ == "__main__":
    main()
