#!/usr/bin/env python3
"""Advice-EMNLP2020 (r/AskParents, r/needadvice) -> training/learned/advice-emnlp.jsonl (issue 15).

Reddit reply sentences annotated as advice or not advice (speech act). Kept in an extra field
"speech_act_advice" (the Majority_label of three annotators; the Dawid-Skene label is in
"speech_act_advice_ds"). These are NOT medical advice to a patient: role "staff", labels [],
how "source"; the lead decides how to use them. The source's own train/dev/test split is ignored;
split follows DATA-SPEC.md with group = the Reddit submission (a thread), so replies in one
thread stay on one side.

The sentences come tokenized by spaCy ("I ’ve", "do n't", "word ."); the tokenization is undone
by a few plain rules so the text reads like chat.

usage: advice_emnlp.py [--mirror GITDIR] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re

import _common as c

SOURCE = "advice-emnlp"
SUBREDDITS = ("askparents", "needadvice")
PARTS = ("train", "dev", "test")


def detokenize(s: str) -> str:
    s = c.clean(s)
    s = re.sub(r" (n't|n’t)\b", r"\1", s)
    s = re.sub(r" (['’](?:s|re|ve|ll|d|m|S|RE|VE|LL|D|M))\b", r"\1", s)
    s = re.sub(r" ([.,!?;:%)\]}])", r"\1", s)
    s = re.sub(r"([(\[{$]) ", r"\1", s)
    s = re.sub(r"\s*\.\s*\.\s*\.", "...", s)
    s = re.sub(r"\b(ca|wo|sha|do|does|did|is|are|was|were|have|has|had|could|would|should) n['’]t\b", r"\1n't", s, flags=re.I)
    s = re.sub(r'" (.*?) "', r'"\1"', s)
    return s.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", help="bare git dir of venkatasg/Advice-EMNLP2020")
    ap.add_argument("--out", default=os.path.join(c.OUT_DIR, "advice-emnlp.jsonl"))
    a = ap.parse_args()
    gitdir = c.mirror("venkatasg/Advice-EMNLP2020", a.mirror)
    records, seen_ids = [], set()
    for sub in SUBREDDITS:
        for part in PARTS:
            path = f"Dataset/{sub}_{part}.tsv"
            text = c.show(gitdir, path)
            if text is None:
                raise SystemExit(f"{path} missing from the mirror")
            for row in csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE):
                sid = (row.get("ID") or "").strip()
                sent = detokenize(row.get("Sentence") or "")
                if not sid or not sent or row.get("Majority_label") not in ("0", "1"):
                    continue
                rid = f"advice-emnlp-{sub}-{sid}"
                if rid in seen_ids:
                    continue
                seen_ids.add(rid)
                group = f"advice-emnlp-{sub}-{sid.split('-')[0]}"
                records.append(c.record(
                    rid, SOURCE, group, "staff", sent,
                    speech_act_advice=row["Majority_label"] == "1",
                    speech_act_advice_ds=row.get("DS_Label") == "1",
                ))
    c.write_jsonl(a.out, records)
    pos = sum(r["speech_act_advice"] for r in records)
    print(f"speech_act_advice true: {pos} of {len(records)}")


if __name__ == "__main__":
    main()
