#!/usr/bin/env python3
"""MedQuAD answers -> training/learned/medquad.jsonl (issue 15).

General health information from NIH websites: role "staff", labels [] (it is not personal advice),
how "source". Answers are cut into chat-sized chunks (1-3 sentences, at most 60 words); group is the
XML document. Three sub-collections (A.D.A.M., MedlinePlus Drugs, Herbs and Supplements) ship without
answers for copyright reasons; they are detected (no non-empty <Answer>) and skipped.

Sampling is deterministic: per sub-collection, all chunks in sorted (file, pair, chunk) order, a
stride sample; the ~4,000 chunks are shared evenly over the sub-collections that have answers, a small
collection's unused share going to the others.

usage: medquad.py [--mirror GITDIR] [--target 4000] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import xml.etree.ElementTree as ET

import _common as c

SOURCE = "medquad"


def collection_chunks(gitdir: str, collection: str) -> tuple[list[tuple[str, str, str]], int, int]:
    """(group, id, text) for every chunk of every answer, plus counts of files and of non-empty answers."""
    files = [p for p in c.ls_files(gitdir, collection + "/") if p.endswith(".xml")]
    blobs = c.show_many(gitdir, files)
    out: list[tuple[str, str, str]] = []
    answers = 0
    for path in files:
        data = blobs.get(path)
        if not data:
            continue
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            continue
        stem = os.path.splitext(os.path.basename(path))[0]
        short = collection.split("_")[0]
        group = f"medquad-{short}-{stem}"
        for pair in root.iter("QAPair"):
            ans = pair.find("Answer")
            text = "".join(ans.itertext()) if ans is not None else ""
            if not text.strip():
                continue
            answers += 1
            pid = pair.get("pid", "0")
            for k, chunk in enumerate(c.chunks(text)):
                if len(chunk.split()) < 4:
                    continue
                out.append((group, f"{group}-{pid}-{k}", chunk))
    return out, len(files), answers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", help="bare git dir of abachaa/MedQuAD")
    ap.add_argument("--target", type=int, default=4000)
    ap.add_argument("--out", default=os.path.join(c.OUT_DIR, "medquad.jsonl"))
    a = ap.parse_args()
    gitdir = c.mirror("abachaa/MedQuAD", a.mirror)
    collections = sorted(
        {p.split("/")[0] for p in c.ls_files(gitdir) if "/" in p and p.endswith(".xml")},
        key=lambda s: int(s.split("_")[0]),
    )
    per: dict[str, list[tuple[str, str, str]]] = {}
    seen: set[str] = set()
    for col in collections:
        items, nfiles, nans = collection_chunks(gitdir, col)
        unique = []
        for item in sorted(items):  # the same answer text appears in more than one document: keep the first
            if item[2].lower() not in seen:
                seen.add(item[2].lower())
                unique.append(item)
        items = unique
        print(f"{col}: {nfiles} files, {nans} answers, {len(items)} distinct chunks" + ("  (no answers: skipped)" if not nans else ""))
        if items:
            per[col] = items
    # Even shares, a small collection's remainder redistributed.
    quota = {col: 0 for col in per}
    left = a.target
    open_cols = sorted(per, key=lambda k: len(per[k]))
    while open_cols and left > 0:
        share = left // len(open_cols)
        col = open_cols[0]
        take = min(share, len(per[col]) - quota[col])
        if take >= len(per[col]) - quota[col]:
            quota[col] += take
            left -= take
            open_cols.pop(0)
            continue
        for col in open_cols:
            quota[col] += share
        left -= share * len(open_cols)
        for col in open_cols[: left]:
            quota[col] += 1
        left = 0
    records = []
    for col in per:
        items = sorted(per[col])
        for group, rid, text in c.stride_sample(items, quota[col]):
            records.append(c.record(rid, SOURCE, group, "staff", text))
        print(f"{col}: sampled {quota[col]}")
    c.write_jsonl(a.out, records)


if __name__ == "__main__":
    main()
