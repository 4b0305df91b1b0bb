#!/usr/bin/env python3
"""Validate the Bedside labeled evaluation corpus and print summary counts.

Usage: python3 tests/corpus/validate_corpus.py [CORPUS_DIR]
CORPUS_DIR defaults to the directory holding this script. Exits 1 on any error.
"""
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

LABELS = ["medical_advice", "patient_details", "feedback"]
KINDS = {"praise", "complaint", "suggestion"}
SPECIALTIES = {
    "family": "fam", "dental": "den", "pediatrics": "ped", "physio": "phy",
    "dermatology": "der", "mental_health": "mh", "pharmacy": "pha", "general": "gen",
}
FIELDS = ["id", "role", "text", "labels", "feedback_kind", "specialty", "hard_negative", "note"]
SPLITS = ["tune", "holdout"]
# Well-known SSNs that must never appear (real-world published/test numbers).
FORBIDDEN_SSNS = {"078-05-1120", "219-09-9999"}
SSN_RE = re.compile(r"(?<![\dA-Za-z-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
DISCORD_TOKEN_RE = re.compile(r"<(?:@[!&]?|#|a?:\w+:)\d+>")  # mentions, channels, custom emoji
CARD_RE = re.compile(r"(?<![\dA-Za-z])(?:\d[ -]?){12,18}\d(?![\dA-Za-z])")
PHONE_RE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?(\d{3})\)?[\s.\-\u2011]?(\d{3})[\s.\-\u2011](\d{4})(?!\d)")


def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def ssn_valid_looking(area, group, serial):
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    errors, warnings = [], []
    rows, seen = [], {}

    for split in SPLITS:
        d = root / split
        if not d.is_dir():
            errors.append(f"missing folder {d}")
            continue
        for spec in SPECIALTIES:
            if not (d / f"{spec}.jsonl").exists():
                errors.append(f"missing file {split}/{spec}.jsonl")
        for path in sorted(d.glob("*.jsonl")):
            spec_file = path.stem
            if spec_file not in SPECIALTIES:
                errors.append(f"{path}: unexpected file name")
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    where = f"{split}/{path.name}:{n}"
                    if not line.strip():
                        errors.append(f"{where}: blank line")
                        continue
                    try:
                        r = json.loads(line)
                    except json.JSONDecodeError as e:
                        errors.append(f"{where}: bad JSON ({e})")
                        continue
                    if not isinstance(r, dict):
                        errors.append(f"{where}: not an object")
                        continue
                    missing = [k for k in FIELDS if k not in r]
                    extra = [k for k in r if k not in FIELDS]
                    if missing:
                        errors.append(f"{where}: missing fields {missing}")
                        continue
                    if extra:
                        errors.append(f"{where}: unexpected fields {extra}")
                    rid = r["id"]
                    where = f"{where} ({rid})"
                    if not isinstance(rid, str) or not rid:
                        errors.append(f"{where}: bad id")
                    elif rid in seen:
                        errors.append(f"{where}: duplicate id (also {seen[rid]})")
                    else:
                        seen[rid] = where
                    if r["role"] not in ("staff", "patient"):
                        errors.append(f"{where}: bad role {r['role']!r}")
                    if not isinstance(r["text"], str) or not r["text"].strip():
                        errors.append(f"{where}: empty text")
                    if not isinstance(r["note"], str) or not r["note"].strip():
                        errors.append(f"{where}: empty note")
                    labels = r["labels"]
                    if not isinstance(labels, list) or any(l not in LABELS for l in labels):
                        errors.append(f"{where}: bad labels {labels!r}")
                        continue
                    if len(set(labels)) != len(labels):
                        errors.append(f"{where}: duplicate labels")
                    if labels != [l for l in LABELS if l in labels]:
                        errors.append(f"{where}: labels not in canonical order")
                    if r["role"] == "staff" and "feedback" in labels:
                        errors.append(f"{where}: staff message labelled feedback")
                    if r["role"] == "patient" and set(labels) - {"feedback"}:
                        errors.append(f"{where}: patient message with staff-only label")
                    kind = r["feedback_kind"]
                    if "feedback" in labels:
                        if kind not in KINDS:
                            errors.append(f"{where}: feedback without a valid feedback_kind")
                    elif kind is not None:
                        errors.append(f"{where}: feedback_kind set without feedback label")
                    if not isinstance(r["hard_negative"], bool):
                        errors.append(f"{where}: hard_negative must be a bool")
                    elif r["hard_negative"] and labels:
                        errors.append(f"{where}: hard_negative on a labelled message")
                    spec = r["specialty"]
                    if spec not in SPECIALTIES:
                        errors.append(f"{where}: bad specialty {spec!r}")
                    else:
                        if spec != spec_file:
                            errors.append(f"{where}: specialty {spec} in file {path.name}")
                        m = re.fullmatch(r"([a-z]+)-(\d+)", rid or "")
                        if not m or m.group(1) != SPECIALTIES[spec]:
                            errors.append(f"{where}: id prefix does not match specialty")
                        elif (int(m.group(2)) % 5 == 0) != (split == "holdout"):
                            errors.append(f"{where}: split rule violated (holdout = id number divisible by 5)")
                    # privacy sanity: invented data only
                    text = unicodedata.normalize("NFKC", r["text"])
                    for ssn in FORBIDDEN_SSNS:
                        if ssn in text:
                            errors.append(f"{where}: contains a well-known real SSN {ssn}")
                    for a, b, c in PHONE_RE.findall(text):
                        if not (b == "555" and c.startswith("01")):
                            warnings.append(f"{where}: phone-like number {a}-{b}-{c} is not 555-01xx")
                    if "patient_details" in labels:
                        for area, group, serial in SSN_RE.findall(text):
                            if not ssn_valid_looking(area, group, serial):
                                warnings.append(f"{where}: SSN-shaped number in a positive is not valid-looking")
                        for m in CARD_RE.finditer(DISCORD_TOKEN_RE.sub(" ", text)):
                            digits = re.sub(r"\D", "", m.group())
                            if not luhn_ok(digits):
                                warnings.append(f"{where}: card-like number {m.group()!r} fails Luhn")
                    r["_split"] = split
                    rows.append(r)

    # ---------------- summary ----------------
    total = len(rows)
    if not total:
        errors.append("no rows")
    lab = Counter(l for r in rows for l in r["labels"])
    kinds = Counter(r["feedback_kind"] for r in rows if r["feedback_kind"])
    roles = Counter(r["role"] for r in rows)
    hn = sum(1 for r in rows if r["hard_negative"])
    neg = sum(1 for r in rows if not r["labels"])
    both = sum(1 for r in rows if r["labels"] == ["medical_advice", "patient_details"])
    lengths = [len(r["text"]) for r in rows]

    print(f"total messages: {total}")
    print(f"roles: staff {roles['staff']} ({roles['staff']/max(total,1):.1%}), "
          f"patient {roles['patient']} ({roles['patient']/max(total,1):.1%})")
    print("labels: " + ", ".join(f"{l} {lab[l]}" for l in LABELS)
          + f"  (advice+details together: {both})")
    print("feedback kinds: " + ", ".join(f"{k} {kinds[k]}" for k in sorted(KINDS)))
    print(f"no-label messages: {neg}; hard negatives: {hn} ({hn/max(total,1):.1%} of all)")
    print(f"text length: min {min(lengths, default=0)}, max {max(lengths, default=0)}, "
          f">=500 chars: {sum(1 for x in lengths if x >= 500)}")
    print()
    hdr = f"{'specialty':<14}{'total':>6}{'tune':>6}{'hold':>6}{'staff':>7}{'pat':>5}{'advice':>8}{'details':>8}{'feedbk':>8}{'hardneg':>8}"
    print(hdr)
    for spec in SPECIALTIES:
        rs = [r for r in rows if r["specialty"] == spec]
        c = Counter(l for r in rs for l in r["labels"])
        print(f"{spec:<14}{len(rs):>6}{sum(r['_split']=='tune' for r in rs):>6}"
              f"{sum(r['_split']=='holdout' for r in rs):>6}{sum(r['role']=='staff' for r in rs):>7}"
              f"{sum(r['role']=='patient' for r in rs):>5}{c['medical_advice']:>8}{c['patient_details']:>8}"
              f"{c['feedback']:>8}{sum(r['hard_negative'] for r in rs):>8}")
    print()
    for split in SPLITS:
        rs = [r for r in rows if r["_split"] == split]
        c = Counter(l for r in rs for l in r["labels"])
        k = Counter(r["feedback_kind"] for r in rs if r["feedback_kind"])
        h = sum(r["hard_negative"] for r in rs)
        print(f"{split}: {len(rs)} messages; advice {c['medical_advice']}, details {c['patient_details']}, "
              f"feedback {c['feedback']} (praise {k['praise']}, complaint {k['complaint']}, "
              f"suggestion {k['suggestion']}), hard negatives {h} ({h/max(len(rs),1):.1%})")

    # minimums from the corpus brief (warnings, not errors)
    if total < 700:
        warnings.append(f"only {total} messages (< 700)")
    if hn / max(total, 1) < 0.45:
        warnings.append(f"hard negatives {hn/max(total,1):.1%} (< 45%)")
    for l, m in (("medical_advice", 110), ("patient_details", 130), ("feedback", 120)):
        if lab[l] < m:
            warnings.append(f"{l}: {lab[l]} (< {m})")

    print()
    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    print(f"{len(errors)} errors, {len(warnings)} warnings")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
