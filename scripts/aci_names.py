#!/usr/bin/env python3
"""Turns ACI-Bench's dialogues into the name-recall check of `examples/real_names.rs` (outside CI).

ACI-Bench (github.com/wyim/aci-bench, CC BY 4.0: Yim et al., "ACI-BENCH: a Novel Ambient Clinical
Intelligence Dataset for Benchmarking Automatic Visit Note Generation", 2023) lists each
encounter's patient first and family name in its metadata. Every dialogue line that mentions one
of them (as a whole word, in any case) becomes a message whose labeled spans are those mentions.
The output stays outside the repository (it is the dataset's text, and only a check).

    python3 scripts/aci_names.py /path/to/aci-bench > /tmp/aci_names.jsonl
    cargo run --release --example real_names -- /tmp/aci_names.jsonl
"""

import csv
import json
import re
import sys
from pathlib import Path

SPLITS = ["train", "valid", "clinicalnlp_taskB_test1", "clinicalnlp_taskC_test2", "clef_taskC_test3"]


def main():
    root = Path(sys.argv[1]) / "data" / "challenge_data"
    csv.field_size_limit(10_000_000)
    for split in SPLITS:
        meta = {r["encounter_id"]: r for r in csv.DictReader(open(root / f"{split}_metadata.csv", encoding="utf-8"))}
        for row in csv.DictReader(open(root / f"{split}.csv", encoding="utf-8")):
            m = meta.get(row["encounter_id"])
            if not m:
                continue
            names = [n for n in (m["patient_firstname"], m["patient_familyname"]) if n.strip()]
            for line in row["dialogue"].splitlines():
                # "[doctor] hi , martha ." : the speaker tag is not the message.
                text = re.sub(r"^\s*\[[^\]]*\]\s*", "", line)
                spans = []
                for name in names:
                    for match in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text, re.IGNORECASE):
                        start = len(text[: match.start()].encode())
                        spans.append({"start": start, "end": start + len(match.group(0).encode())})
                if spans:
                    print(json.dumps({"dataset": row["dataset"], "encounter": row["encounter_id"], "text": text,
                                      "spans": spans}, ensure_ascii=False))


if __name__ == "__main__":
    main()
