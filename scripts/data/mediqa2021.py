#!/usr/bin/env python3
"""MEDIQA 2021 consumer health questions -> training/learned/mediqa2021.jsonl (issue 15).

Task 1 (question summarization) is the only part holding consumer questions: the column
"NLM Question" of its validation (50) and test (100) sets, questions sent to the U.S. National Library
of Medicine in December 2020. Role "patient", labels [], how "source". Task 2's "short questions" are
expert-written summaries and its answers are retrieved reference text, Task 3 is radiology reports:
none of them is patient text, so none is taken. Questions over 60 words are cut into pieces of at most
60 words. "SUBJECT:"/"MESSAGE:" form headers are dropped as in meqsum.py. group = the question (set + q_id).

usage: mediqa2021.py [--mirror GITDIR] [--out PATH]
"""

from __future__ import annotations

import argparse
import os

import _common as c

SOURCE = "mediqa2021"
FILES = {
    "val": "Task1/MEDIQA2021-Task1-QuestionSummarization-ValidationSet.xlsx",
    "test": "Task1/MEDIQA2021-Task1-TestSet-ReferenceSummaries.xlsx",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", help="bare git dir of abachaa/MEDIQA2021")
    ap.add_argument("--out", default=os.path.join(c.OUT_DIR, "mediqa2021.jsonl"))
    a = ap.parse_args()
    gitdir = c.mirror("abachaa/MEDIQA2021", a.mirror)
    records, seen = [], set()
    for tag, path in FILES.items():
        data = c.show_bytes(gitdir, path)
        if data is None:
            raise SystemExit(f"{path} missing from the mirror")
        rows = c.xlsx_rows(data)
        header = rows[0]
        ii, qi = header.index("q_id"), header.index("NLM Question")
        for row in rows[1:]:
            if len(row) <= qi or not row[qi].strip():
                continue
            group = f"mediqa2021-{tag}-{row[ii].strip()}"
            text = c.strip_form_headers(row[qi])
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            pieces = c.question_pieces(text)
            for k, piece in enumerate(pieces):
                rid = group if len(pieces) == 1 else f"{group}-{k}"
                records.append(c.record(rid, SOURCE, group, "patient", piece))
    c.write_jsonl(a.out, records)


if __name__ == "__main__":
    main()
