#!/usr/bin/env python3
"""Local evaluation sets for issue 15, from sources WITHOUT a usable licence (see below).

Never commit the output and never train or tune on it: it is written to a folder outside the
repository (by convention /work/localeval) for an eval command that skips cleanly when it is absent.
This script holds no source text; only the ids of the doctor answers that were read and labeled.

    localeval.py OUT_DIR [--covid GITDIR] [--ratemds GITDIR] [--hospital GITDIR]

Mirrors default to the `fetch` tool's /work/.mirror/<owner>+<name>/repo.

- covid-dialogue.jsonl  UCSD-AI4H/COVID-Dialogue, COVID-Dialogue-Dataset-English.txt (no licence file).
  The doctor turns (role staff). A seeded sample (random.Random(15), 300 of all doctor turns in file
  order) was READ one by one and labeled medical_advice or not, by DATA-SPEC.md's definition; only those
  read are written (how "read"). The decisions are the READ / ADVICE id sets below.
- ratemds.jsonl  avi-jit/RateMDs, the parsed RateMDs.com pages under "raw data/" (no licence file; its
  CSVs are over the snapshot's 4 MiB limit). Review bodies, role patient, labels ["feedback"], "rating"
  = the page's overall ratingValue (mean of staff, punctuality, helpfulness, knowledge; 1-5).
- hospital-reviews.jsonl  Jetsu0/hospital-reviews-topic-modelling-sentiment-analysis, hospital.csv.
  The repository has an MIT LICENSE for its code, but nothing says where the reviews come from or that
  they may be redistributed, so they are treated as unlicensed. Column Feedback, role patient, labels
  ["feedback"], "rating" = column Ratings (1-5).

feedback_kind from the rating: rating <= 2 -> "complaint", rating >= 4 -> "praise"; ratings strictly
between 2 and 4 (mixed) are left out, as the kind cannot follow from them. Sampling is deterministic:
reviews sorted by id, then a stride sample of up to 1,000 complaints and up to 1,000 praise per source
(balanced so that kind agreement is measured on both kinds; every kind is kept when there are fewer).
split: DATA-SPEC's rule, though these files are evaluation only.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as c  # noqa: E402

PER_KIND = 1000


def kind_of(rating: float) -> str | None:
    if rating <= 2:
        return "complaint"
    if rating >= 4:
        return "praise"
    return None


def balanced(items: list[tuple], per_kind: int) -> list[tuple]:
    """items: (id, group, text, rating, kind) sorted by id; a stride sample per kind."""
    out = []
    for kind in ("complaint", "praise"):
        out.extend(c.stride_sample([x for x in items if x[4] == kind], per_kind))
    return sorted(out)


def feedback_records(source: str, items: list[tuple]) -> list[dict]:
    return [
        c.record(rid, source, group, "patient", text, labels=["feedback"], feedback_kind=kind, how="source",
                 rating=rating)
        for rid, group, text, rating, kind in items
    ]


# ---------------------------------------------------------------- COVID-Dialogue

COVID_FILE = "COVID-Dialogue-Dataset-English.txt"
COVID_SEED = 15
COVID_SAMPLE = 300


def covid_doctor_turns(text: str) -> list[tuple[str, str, str]]:
    """(id, group, text) of every doctor turn, in file order."""
    out = []
    for block in re.split(r"^id=(?=\d+\s*$)", text, flags=re.M)[1:]:
        lines = block.splitlines()
        did = int(lines[0].strip())
        group = f"covid-dialogue-{did:04d}"
        speaker, buf, k = None, [], 0
        body = "\n".join(lines[1:]).split("\nDialogue\n", 1)
        if len(body) < 2:
            continue

        def flush():
            nonlocal k
            if speaker == "Doctor":
                t = c.clean(" ".join(buf))
                if t:
                    out.append((f"{group}-{k}", group, t))
                    k += 1

        for line in body[1].splitlines():
            s = line.strip()
            if s in ("Patient:", "Doctor:"):
                flush()
                speaker, buf = s[:-1], []
            elif s:
                buf.append(s)
        flush()
    return out


def covid_sample_ids(turns: list[tuple[str, str, str]]) -> list[str]:
    rng = random.Random(COVID_SEED)
    return sorted(t[0] for t in rng.sample(turns, min(COVID_SAMPLE, len(turns))))


# The doctor answers that were read (covid_sample_ids) and, of those, the ones labeled medical_advice.
READ: set[str] = {"covid-dialogue-" + x for x in """
    0001-1 0002-0 0002-2 0004-0 0004-4 0004-5 0004-7 0005-0 0007-0 0009-0 0018-0 0019-0 0022-0 0023-0 0024-0
    0025-0 0030-0 0032-0 0036-0 0038-0 0039-0 0043-0 0044-0 0047-0 0048-0 0050-0 0051-0 0053-0 0054-0 0055-0
    0061-0 0063-0 0067-0 0068-0 0069-0 0070-0 0071-0 0074-0 0075-0 0076-0 0082-0 0083-0 0088-0 0090-0 0093-0
    0096-0 0103-0 0105-0 0106-0 0107-0 0112-0 0114-0 0115-0 0116-0 0122-0 0127-0 0128-0 0131-0 0133-0 0138-0
    0142-0 0143-0 0147-0 0149-0 0150-0 0151-0 0152-0 0154-0 0156-0 0157-0 0158-0 0159-0 0160-0 0161-0 0162-0
    0163-0 0164-0 0165-0 0166-0 0169-0 0170-0 0171-0 0176-0 0178-0 0182-0 0185-0 0186-0 0187-0 0188-0 0189-0
    0192-0 0195-0 0196-0 0199-0 0201-0 0202-0 0204-0 0208-0 0209-0 0210-0 0214-0 0215-0 0216-0 0218-0 0219-0
    0220-0 0222-0 0223-0 0224-0 0225-0 0226-0 0227-0 0228-0 0230-0 0232-0 0233-0 0235-0 0239-0 0243-0 0244-0
    0245-0 0246-0 0249-0 0250-0 0253-0 0254-0 0257-0 0259-0 0262-0 0266-0 0268-0 0269-0 0273-0 0275-0 0278-0
    0279-0 0280-0 0281-0 0282-0 0284-0 0285-0 0286-0 0287-0 0288-0 0290-0 0292-0 0293-0 0297-0 0300-0 0301-0
    0302-0 0303-0 0304-0 0305-0 0306-0 0308-0 0309-0 0310-0 0313-0 0316-0 0318-0 0319-0 0320-0 0321-0 0323-0
    0327-0 0328-0 0330-0 0332-0 0334-0 0336-0 0338-0 0340-0 0344-0 0347-0 0349-0 0350-0 0351-0 0352-0 0356-0
    0358-0 0361-0 0364-0 0365-0 0366-0 0372-0 0373-0 0374-0 0380-0 0384-0 0386-0 0387-0 0388-0 0389-0 0391-0
    0392-0 0395-0 0396-0 0397-0 0399-0 0402-0 0404-0 0407-0 0408-0 0415-0 0417-0 0418-0 0419-0 0421-0 0425-0
    0426-0 0427-0 0428-0 0430-0 0433-0 0437-0 0440-0 0442-0 0444-0 0445-0 0447-0 0448-0 0449-0 0451-0 0452-0
    0453-0 0454-0 0456-0 0460-0 0461-0 0462-0 0464-0 0465-0 0466-0 0467-0 0470-0 0473-0 0474-0 0475-0 0477-0
    0478-0 0479-0 0480-0 0487-0 0488-0 0489-0 0490-0 0492-0 0494-0 0495-0 0496-0 0498-0 0499-0 0500-0 0501-0
    0502-0 0505-0 0510-0 0511-0 0513-0 0517-0 0518-0 0520-0 0521-0 0522-0 0523-0 0524-0 0527-0 0528-0 0529-0
    0530-0 0532-0 0533-0 0534-0 0539-0 0540-0 0541-0 0543-0 0544-0 0548-0 0551-0 0554-0 0555-0 0557-0 0566-0
    0569-0 0570-0 0571-0 0572-0 0576-0 0578-0 0579-0 0580-0 0584-0 0591-0 0592-0 0593-0 0597-0 0599-0 0601-0
""".split()}
ADVICE: set[str] = {"covid-dialogue-" + x for x in """
    0001-1 0002-0 0002-2 0004-4 0004-5 0004-7 0005-0 0025-0 0032-0 0039-0 0043-0 0047-0 0048-0 0050-0 0051-0
    0055-0 0061-0 0063-0 0067-0 0069-0 0071-0 0074-0 0075-0 0076-0 0082-0 0083-0 0088-0 0090-0 0096-0 0103-0
    0105-0 0107-0 0112-0 0114-0 0116-0 0122-0 0127-0 0128-0 0131-0 0138-0 0143-0 0147-0 0149-0 0150-0 0151-0
    0156-0 0157-0 0158-0 0159-0 0160-0 0161-0 0163-0 0165-0 0166-0 0185-0 0186-0 0187-0 0188-0 0189-0 0192-0
    0195-0 0196-0 0199-0 0201-0 0204-0 0210-0 0215-0 0216-0 0219-0 0223-0 0224-0 0225-0 0226-0 0230-0 0232-0
    0233-0 0235-0 0243-0 0246-0 0249-0 0250-0 0257-0 0259-0 0266-0 0268-0 0273-0 0278-0 0279-0 0280-0 0282-0
    0284-0 0285-0 0301-0 0302-0 0303-0 0304-0 0308-0 0313-0 0316-0 0318-0 0319-0 0321-0 0327-0 0328-0 0330-0
    0338-0 0340-0 0344-0 0347-0 0349-0 0350-0 0351-0 0356-0 0358-0 0361-0 0372-0 0373-0 0374-0 0380-0 0388-0
    0392-0 0395-0 0396-0 0397-0 0399-0 0404-0 0407-0 0408-0 0417-0 0418-0 0419-0 0421-0 0425-0 0426-0 0427-0
    0428-0 0430-0 0433-0 0440-0 0442-0 0445-0 0447-0 0448-0 0449-0 0451-0 0452-0 0453-0 0461-0 0462-0 0465-0
    0466-0 0474-0 0478-0 0479-0 0480-0 0488-0 0494-0 0496-0 0498-0 0499-0 0500-0 0502-0 0505-0 0510-0 0517-0
    0518-0 0522-0 0523-0 0524-0 0527-0 0528-0 0532-0 0533-0 0534-0 0541-0 0543-0 0544-0 0551-0 0569-0 0570-0
    0572-0 0576-0 0578-0 0579-0 0580-0 0584-0 0597-0 0601-0
""".split()}


def covid(gitdir: str, out_dir: str) -> None:
    text = c.show(gitdir, COVID_FILE)
    if text is None:
        raise SystemExit(f"{COVID_FILE} missing from {gitdir}")
    turns = covid_doctor_turns(text)
    sample = covid_sample_ids(turns)
    if READ and set(sample) != READ:
        raise SystemExit("COVID-Dialogue: the seeded sample no longer matches the ids that were read")
    by_id = {t[0]: t for t in turns}
    records = []
    for rid in sample:
        if rid not in READ:
            continue
        _, group, t = by_id[rid]
        labels = ["medical_advice"] if rid in ADVICE else []
        records.append(c.record(rid, "covid-dialogue", group, "staff", t, labels=labels, how="read"))
    print(f"covid-dialogue: {len(turns)} doctor turns, {len(sample)} sampled, {len(records)} read, "
          f"{sum(bool(r['labels']) for r in records)} advice", file=sys.stderr)
    c.write_jsonl(os.path.join(out_dir, "covid-dialogue.jsonl"), records)


# ---------------------------------------------------------------- RateMDs

_REVIEW = re.compile(r'<div class="rating" itemprop="review"')
_RID = re.compile(r'id="rating-(\d+)"')
_VALUE = re.compile(r'itemprop="ratingValue" content="([\d.]+)"')
_BODY = re.compile(r'itemprop="reviewBody"[^>]*>(.*?)</p>', re.S)


def ratemds(gitdir: str, out_dir: str) -> None:
    files = [p for p in c.ls_files(gitdir, "raw data/") if os.path.basename(p).startswith("file_")]
    blobs = c.show_many(gitdir, files)
    items, seen_ids, seen_text = [], set(), set()
    pages = 0
    for path in files:
        data = blobs.get(path)
        if not data:
            continue
        pages += 1
        page = data.decode("utf-8", errors="replace")
        slug = os.path.basename(path)[len("file_"):]
        slug = re.sub(r"\.html$", "", slug).replace("'", "")
        group = "ratemds-" + re.sub(r"[^A-Za-z0-9~+.-]", "_", slug)
        for block in _REVIEW.split(page)[1:]:
            rid, val, body = _RID.search(block), _VALUE.search(block), _BODY.search(block)
            if not (rid and val and body):
                continue
            text = c.clean(html.unescape(re.sub(r"<[^>]+>", " ", body.group(1))))
            rating = float(val.group(1))
            kind = kind_of(rating)
            key = f"ratemds-{rid.group(1)}"
            if not text or kind is None or key in seen_ids or text.lower() in seen_text:
                continue
            seen_ids.add(key)
            seen_text.add(text.lower())
            items.append((key, group, text, rating, kind))
    items.sort(key=lambda x: int(x[0].split("-")[1]))
    print(f"ratemds: {pages} pages, {len(items)} reviews with a clear rating "
          f"({sum(x[4] == 'complaint' for x in items)} complaint)", file=sys.stderr)
    c.write_jsonl(os.path.join(out_dir, "ratemds.jsonl"), feedback_records("ratemds", balanced(items, PER_KIND)))


# ---------------------------------------------------------------- hospital reviews

def hospital(gitdir: str, out_dir: str) -> None:
    text = c.show(gitdir, "hospital.csv")
    if text is None:
        raise SystemExit(f"hospital.csv missing from {gitdir}")
    items, seen = [], set()
    for i, row in enumerate(csv.DictReader(io.StringIO(text))):
        body = c.clean(row.get("Feedback") or "")
        try:
            rating = float(row.get("Ratings") or "")
        except ValueError:
            continue
        kind = kind_of(rating)
        if not body or kind is None or body.lower() in seen:
            continue
        seen.add(body.lower())
        rid = f"hospital-reviews-{i + 1:04d}"
        items.append((rid, rid, body, rating, kind))  # one review per reviewer: the review is the group
    print(f"hospital-reviews: {len(items)} reviews with a clear rating "
          f"({sum(x[4] == 'complaint' for x in items)} complaint)", file=sys.stderr)
    c.write_jsonl(os.path.join(out_dir, "hospital-reviews.jsonl"),
                  feedback_records("hospital-reviews", balanced(items, PER_KIND)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--covid")
    ap.add_argument("--ratemds")
    ap.add_argument("--hospital")
    ap.add_argument("--only", choices=["covid", "ratemds", "hospital"])
    a = ap.parse_args()
    out = os.path.abspath(a.out_dir)
    repo = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    if out == repo or out.startswith(repo + os.sep):
        raise SystemExit("refusing to write unlicensed evaluation data inside the repository")
    os.makedirs(out, exist_ok=True)
    if a.only in (None, "covid"):
        covid(c.mirror("UCSD-AI4H/COVID-Dialogue", a.covid), out)
    if a.only in (None, "ratemds"):
        ratemds(c.mirror("avi-jit/RateMDs", a.ratemds), out)
    if a.only in (None, "hospital"):
        hospital(c.mirror("Jetsu0/hospital-reviews-topic-modelling-sentiment-analysis", a.hospital), out)


if __name__ == "__main__":
    main()
