#!/usr/bin/env python3
"""MeQSum consumer health questions -> training/learned/meqsum.jsonl (issue 15).

The long consumer health questions (column CHQ), not their summaries: role "patient", labels []
(a question about one's health is not feedback about a practice), how "source". The "SUBJECT:" and
"MESSAGE:" headers of the NLM form are dropped (the message is kept; the subject only when there is
no message). Questions over 60 words are cut, at sentence ends where possible, into pieces of at
most 60 words. group = the question id (column File).

usage: meqsum.py [--mirror GITDIR] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import re

import _common as c

SOURCE = "meqsum"
FILE = "MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", help="bare git dir of abachaa/MeQSum")
    ap.add_argument("--out", default=os.path.join(c.OUT_DIR, "meqsum.jsonl"))
    a = ap.parse_args()
    gitdir = c.mirror("abachaa/MeQSum", a.mirror)
    data = c.show_bytes(gitdir, FILE)
    if data is None:
        raise SystemExit(f"{FILE} missing from the mirror")
    rows = c.xlsx_rows(data)
    header = rows[0]
    fi, qi = header.index("File"), header.index("CHQ")
    records, seen = [], set()
    for row in rows[1:]:
        if len(row) <= qi or not row[qi].strip():
            continue
        qid = re.sub(r"\.(xml\.)?txt$", "", row[fi].strip())
        group = f"meqsum-{qid}"
        text = c.strip_form_headers(row[qi])
        if text.lower() in seen or not text:
            continue
        seen.add(text.lower())
        pieces = c.question_pieces(text)
        for k, piece in enumerate(pieces):
            rid = group if len(pieces) == 1 else f"{group}-{k}"
            records.append(c.record(rid, SOURCE, group, "patient", piece))
    c.write_jsonl(a.out, records)


if __name__ == "__main__":
    main()
