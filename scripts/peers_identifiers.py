#!/usr/bin/env python3
"""Runs two peers on the generated identifier set and scores them as tests/identifiers.rs scores Bedside.

Outside CI (it needs pip):

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install presidio-analyzer scrubadub
    /tmp/peers/bin/python scripts/peers_identifiers.py

- Presidio's pattern recognizers (no NLP model): phone (libphonenumber's matcher, its default
  regions), email, US SSN, date, credit card, IP, URL. Presidio's names need spaCy's model, which
  this machine cannot download, so its person column is empty.
- scrubadub's default detectors (email, phone via libphonenumber with its default locale, URL,
  credentials, Twitter handles...). Its names and dates need spaCy or other extras as well.

A labeled span is found when a peer's span of the same kind overlaps it; a peer's span is right
when it overlaps a labeled span of its kind. Offsets are UTF-8 bytes, as in the set.
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

KINDS = ["person", "phone", "email", "date", "ssn", "address"]


def presidio():
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer, DateRecognizer, EmailRecognizer, IpRecognizer, PhoneRecognizer, UrlRecognizer,
        UsSsnRecognizer)
    recognizers = [PhoneRecognizer(), EmailRecognizer(), UsSsnRecognizer(), DateRecognizer(), CreditCardRecognizer(),
                   IpRecognizer(), UrlRecognizer()]
    kinds = {"PHONE_NUMBER": "phone", "EMAIL_ADDRESS": "email", "US_SSN": "ssn", "DATE_TIME": "date",
             "PERSON": "person", "LOCATION": "address"}

    def run(text):
        out = []
        for r in recognizers:
            for res in r.analyze(text, r.supported_entities, None) or []:
                out.append((kinds.get(res.entity_type, "other"), res.start, res.end))
        return out
    return run


def scrubadub_runner():
    import scrubadub
    scrubber = scrubadub.Scrubber()
    kinds = {"phone": "phone", "email": "email", "name": "person", "date_of_birth": "date", "address": "address",
             "postalcode": "address", "social_security_number": "ssn"}

    def run(text):
        return [(kinds.get(f.type, "other"), f.beg, f.end) for f in scrubber.iter_filth(text)]
    return run


def score(rows, run):
    per = defaultdict(lambda: [0, 0, 0, 0])  # found, labeled, right, reported
    for r in rows:
        text = r["text"]
        # Peers report character offsets: turn them into UTF-8 byte offsets like the set's.
        byte_at = [0]
        for ch in text:
            byte_at.append(byte_at[-1] + len(ch.encode()))
        found = [(k, byte_at[s], byte_at[e]) for k, s, e in run(text)]
        for s in r["spans"]:
            hit = any(k == s["kind"] and a < s["end"] and s["start"] < b for k, a, b in found)
            per[s["kind"]][0] += hit
            per[s["kind"]][1] += 1
        for k, a, b in found:
            right = any(k == s["kind"] and a < s["end"] and s["start"] < b for s in r["spans"])
            per[k][2] += right
            per[k][3] += 1
    return per


def main():
    root = Path(__file__).resolve().parent.parent / "tests" / "identifiers"
    peers = [("Presidio pattern recognizers", presidio), ("scrubadub", scrubadub_runner)]
    for split in ["tune", "holdout"]:
        rows = [json.loads(l) for l in open(root / f"{split}.jsonl", encoding="utf-8")]
        for name, make in peers:
            per = score(rows, make())
            right = sum(v[2] for v in per.values())
            reported = sum(v[3] for v in per.values())
            cells = []
            for k in KINDS:
                found, labeled, r, n = per[k]
                recall = found / labeled if labeled else 1.0
                precision = f"{r / n:.3f}" if n else "—"
                cells.append(f"{recall:.3f} / {precision}")
            overall = f"{right / reported:.3f}" if reported else "—"
            print(f"| {split} | {name} | " + " | ".join(cells) + f" | {overall} |")
            sys.stdout.flush()


if __name__ == "__main__":
    print("| split | peer | " + " | ".join(f"{k} recall / precision" for k in KINDS) + " | identifier precision |")
    print("|---|---|" + "---|" * (len(KINDS) + 1))
    main()
