#!/usr/bin/env python3
"""Generates the span-labeled identifier set in tests/identifiers/ (outside CI; its output is committed).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install faker==40.63.0
    /tmp/venv/bin/python scripts/gen_identifiers.py

Messages are built from this file's own templates (email signatures, patients' chat, support
replies, staff chat about a patient, and staff chat that names no patient) filled with Faker's
people, numbers, dates and addresses in ten locales. Every identifier a template inserts is a
labeled span; nothing else in a message is one. Spans are UTF-8 byte offsets, as Bedside reports.

Two seeds make two files: `tune.jsonl`, which the rules may be tuned against, and `holdout.jsonl`,
which is only ever read as the aggregate figures `cargo test --test identifiers` prints.

One JSON object per line: id, locale, template, role, text, spans [{kind, start, end}], and
`discloses`: whether a staff message discloses a patient (its patient_details label), null for
messages not written by staff.
"""

import json
import random
from pathlib import Path

from faker import Faker

LOCALES = ["en_US", "en_GB", "en_CA", "en_AU", "de_DE", "fr_FR", "pl_PL", "ru_RU", "vi_VN", "es_ES"]
# The invented practice of config/bedside.toml: its own details are identifiers too (reported,
# never counted).
PRACTICE_PHONE = "(503) 555-0100"
PRACTICE_EMAIL = "frontdesk@maplegrove.example"
PRACTICE_ADDRESS = "1200 Alder Street, Suite 4, Portland, OR 97205"
STAFF = ["Dr. Priya Raman", "Jenna Ortiz", "Sam Whitaker", "Dr. Lena Hoffmann", "Tomás Reyes", "Maya Chen"]

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


def ordinal(n):
    return f"{n}{'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


class Piece:
    """Text with labeled spans, concatenated piece by piece."""

    def __init__(self):
        self.parts = []
        self.spans = []
        self.length = 0

    def add(self, text, kind=None):
        if kind:
            self.spans.append({"kind": kind, "start": self.length, "end": self.length + len(text.encode())})
        self.parts.append(text)
        self.length += len(text.encode())
        return self

    def text(self):
        return "".join(self.parts)


def render(template, values):
    """`template` with `{slot}` placeholders; values: slot -> (text, kind or None)."""
    p = Piece()
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        slot, _, rest = after.partition("}")
        p.add(before)
        text, kind = values[slot]
        p.add(text, kind)
    p.add(rest)
    return p


class Maker:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.fakes = {}
        for i, loc in enumerate(LOCALES):
            f = Faker(loc)
            f.seed_instance(seed * 100 + i)
            self.fakes[loc] = f
        self.us = self.fakes["en_US"]

    def name(self, f):
        r = self.rng.random()
        if r < 0.6:
            return f"{f.first_name()} {f.last_name()}"
        if r < 0.8:
            return f.last_name() if self.rng.random() < 0.2 else f.first_name()
        # Faker's own shapes (titles, middle names and suffixes included).
        n = f.name()
        return n

    def full_name(self, f):
        return f"{f.first_name()} {f.last_name()}"

    def phone(self, f, loc):
        if self.rng.random() < 0.85:
            return f.phone_number()
        # Shapes people type that Faker's formats lack.
        if loc in ("en_US", "en_CA"):
            a, b, c = self.rng.randint(201, 989), self.rng.randint(200, 999), self.rng.randint(0, 9999)
            return self.rng.choice([f"{a}.{b}.{c:04d}", f"+1 {a} {b} {c:04d}", f"{a}{b}{c:04d}", f"1-{a}-{b}-{c:04d}"])
        if loc == "en_GB":
            return self.rng.choice(["020 7946 0958", "07700 900461", "+44 7700 900077", "0161 496 0123", "+44 (0)20 7946 0321"])
        if loc == "de_DE":
            return self.rng.choice(["030 12345678", "+49 30 901820", "0151 23456789", "+49 (0)89 12345678"])
        if loc == "fr_FR":
            return self.rng.choice(["01 23 45 67 89", "+33 6 12 34 56 78", "06.12.34.56.78", "+33 (0)1 42 68 53 00"])
        return f.phone_number()

    def date(self, f, birth=False):
        d = f.date_of_birth(minimum_age=1, maximum_age=95) if birth else f.date_between("-2y", "+1y")
        y, m, day = d.year, d.month, d.day
        mon = MONTHS[m - 1]
        shapes = [
            f"{y:04d}-{m:02d}-{day:02d}",
            f"{day:02d}.{m:02d}.{y}",
            f"{day}.{m}.{y}",
            f"{day:02d}/{m:02d}/{y}",
            f"{m}/{day}/{y}",
            f"{m:02d}-{day:02d}-{y}",
            f"{day}-{m}-{y % 100:02d}",
            f"{m}/{day}/{y % 100:02d}",
            f"{day}.{m}.{y % 100:02d}",
            f"{day} {mon[:3]} {y}",
            f"{day} {mon} {y}",
            f"{mon} {day}, {y}",
            f"{mon[:3]} {day} {y}",
            f"{mon} {ordinal(day)}",
            f"{ordinal(day)} {mon}",
            f"{mon[:3]}-{day}",
            f"{day}-{mon[:3]}-{y}",
            f"{mon[:3]}. {day}",
        ]
        if not birth:
            shapes += [f"{m}/{day}", f"{day} {mon}"]
        return self.rng.choice(shapes)

    def address(self, f, loc):
        r = self.rng.random()
        if loc == "en_US" and r < 0.15:
            return self.rng.choice([f.military_dpo(), f.military_apo(), f.military_ship() + " " + f.military_state()]).replace("\n", ", ")
        if loc in ("en_US", "en_CA", "en_AU") and r < 0.25:
            n = self.rng.randint(10, 99999)
            return f"PO Box {n}, {f.city()}"
        if loc == "en_GB" and r < 0.3:
            return f"Flat {self.rng.randint(1, 40)}, {f.street_address()}, {f.city()} {f.postcode()}"
        if self.rng.random() < 0.5:
            return f.street_address()
        return f.address().replace("\n", ", ")

    def ssn(self):
        s = self.us.ssn()
        return self.rng.choice([s, s.replace("-", " "), s.replace("-", "")]) if self.rng.random() < 0.3 else s

    def values(self, loc):
        f = self.fakes[loc]
        first = f.first_name()
        return {
            "name": (self.name(f), "person"),
            "full": (self.full_name(f), "person"),
            "first": (first, "person"),
            "last": (f.last_name(), "person"),
            "phone": (self.phone(f, loc), "phone"),
            "phone2": (self.phone(f, loc), "phone"),
            "email": (f.email(), "email"),
            "dob": (self.date(f, birth=True), "date"),
            "date": (self.date(f), "date"),
            "ssn": (self.ssn(), "ssn"),
            "address": (self.address(f, loc), "address"),
            "year": (str(f.date_of_birth(minimum_age=1, maximum_age=95).year), "date"),
            "staff": (self.rng.choice(STAFF), "person"),
            "practice_phone": (PRACTICE_PHONE, "phone"),
            "practice_email": (PRACTICE_EMAIL, "email"),
            "practice_address": (PRACTICE_ADDRESS, "address"),
            "job": (f.job().split(",")[0], None),
            "time": (self.rng.choice(["9:30", "10am", "2:15 pm", "14:00", "noon", "8:45"]), None),
            "dose": (self.rng.choice(["400 mg", "5 ml", "2 tablets", "10mg", "250 mg"]), None),
            "amount": (self.rng.choice(["$45.00", "£20", "€35,50", "$1,200", "120 zł"]), None),
            "order": (self.rng.choice(["order #48213", "ticket 7731", "v2.4.1", "room 12", "ext. 214", "case 30-1192"]), None),
            "count": (str(self.rng.randint(2, 40)), None),
        }


# (category, role, discloses, template). Categories: signature, chat (a patient), support (staff
# replying to a patient), staff (staff chat about a patient), staff_clean (staff chat that names
# no patient: announcements, the practice's own details, staff names).
TEMPLATES = [
    ("signature", "patient", None, "Thanks for getting back to me.\n\nBest regards,\n{full}\n{phone}\n{email}"),
    ("signature", "patient", None, "Please send the forms to my home address.\n\nKind regards,\n{full}\n{address}\nMobile: {phone}"),
    ("signature", "patient", None, "See attached.\n\n--\n{full}\n{job}\nTel: {phone}\n{email}"),
    ("signature", "patient", None, "Cheers,\n{first}\n\nSent from my phone. Call me on {phone} if easier."),
    ("signature", "staff", False, "Thanks,\n{staff}\nMaple Grove Health\n{practice_phone} | {practice_email}"),
    ("signature", "patient", None, "Sincerely,\n{full}\nDOB: {dob}\nPhone: {phone}"),
    ("chat", "patient", None, "hi, this is {full}, my number is {phone} if you need to reach me"),
    ("chat", "patient", None, "Can someone call me back on {phone}? It's about my appointment on {date}."),
    ("chat", "patient", None, "my name is {full} and my dob is {dob}, I can't log into the portal"),
    ("chat", "patient", None, "I moved! New address is {address}, please update my file"),
    ("chat", "patient", None, "you can email me at {email} instead, I don't check texts"),
    ("chat", "patient", None, "booked for {date} at {time}, is that still ok? - {first}"),
    ("chat", "patient", None, "I was born in {year}, so am I due for the shingles shot?"),
    ("chat", "patient", None, "my SSN is {ssn}, do you need it for the insurance form?"),
    ("chat", "patient", None, "I paid {amount} for {order} last week, can I get a receipt? ty"),
    ("chat", "patient", None, "does the {dose} dose change anything? the pharmacist said call after {time}"),
    ("support", "staff", True, "Hi {first}, we've updated your address to {address}. We'll call you at {phone} to confirm."),
    ("support", "staff", True, "Dear {name}, your appointment on {date} at {time} is confirmed. Any questions: {practice_phone}."),
    ("support", "staff", True, "Hello {full}, we have your DOB as {dob}, is that right? Reply here or email {practice_email}."),
    ("support", "staff", True, "Thanks {first}! I've sent the form to {email}; it should arrive before {date}."),
    ("support", "staff", False, "Thanks for reaching out! Please call us at {practice_phone} or email {practice_email} and we'll sort it out."),
    ("support", "staff", False, "Our new office is at {practice_address}; parking is behind the building. Questions: {practice_phone}."),
    ("staff", "staff", True, "{full} (DOB {dob}) called about her results, call back on {phone}"),
    ("staff", "staff", True, "pt {full} rescheduled to {date}, new number {phone}"),
    ("staff", "staff", True, "Can someone call Mr. {last} back? His biopsy results came in, number is {phone}"),
    ("staff", "staff", True, "{first}'s results are back, she's at {address} if we need to mail them"),
    ("staff", "staff", True, "patient {full}, SSN {ssn}, insurance bounced again"),
    ("staff", "staff", True, "Mrs. {last} was in on {date} for her follow-up; her email is {email}"),
    ("staff", "staff", True, "heads up: {full} born {dob} is coming in tomorrow for the MRI"),
    ("staff", "staff", True, "{full}, {address}, {phone}: referral to cardiology please"),
    ("staff", "staff", True, "re {full} - her daughter called from {phone}, wants an update on the scan"),
    ("staff", "staff", True, "patient's new address: {address}. DOB {dob}."),
    ("staff", "staff", True, "Pt: {full}, seen {date}, prescription sent, mobile {phone}"),
    ("staff_clean", "staff", False, "We're closed on {date} for the holiday; the on-call line is {practice_phone}."),
    ("staff_clean", "staff", False, "{staff} is covering the front desk from {time}, ping her with questions."),
    ("staff_clean", "staff", False, "Reminder: flu clinic on {date} from {time}, walk-ins welcome, call {practice_phone} to book."),
    ("staff_clean", "staff", False, "Lots of strep cases this week, {count} so far. Stock up on swabs please."),
    ("staff_clean", "staff", False, "New fax cover sheets are in the drawer; our address on them is {practice_address}."),
    ("staff_clean", "staff", False, "{staff} and {staff2} are out on {date}, so the 2pm huddle moves to {time}."),
    ("staff_clean", "staff", False, "Supplier invoice {order} was {amount}; I emailed {practice_email} the copy."),
    ("staff_clean", "staff", False, "Great job everyone on the Saturday clinic! {count} vaccines given."),
]


def make(seed, count, prefix):
    m = Maker(seed)
    out = []
    for i in range(count):
        loc = LOCALES[i % len(LOCALES)]
        category, role, discloses, template = m.rng.choice(TEMPLATES)
        values = m.values(loc)
        other = [s for s in STAFF if s != values["staff"][0]]
        values["staff2"] = (m.rng.choice(other), "person")
        p = render(template, values)
        out.append({
            "id": f"{prefix}-{i:05d}",
            "locale": loc,
            "template": category,
            "role": role,
            "text": p.text(),
            "spans": p.spans,
            "discloses": discloses,
        })
    return out


def main():
    root = Path(__file__).resolve().parent.parent / "tests" / "identifiers"
    root.mkdir(parents=True, exist_ok=True)
    for name, seed, count in [("tune", 16, 2000), ("holdout", 1616, 1000)]:
        rows = make(seed, count, name)
        with open(root / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} messages, {sum(len(r['spans']) for r in rows)} spans")


if __name__ == "__main__":
    main()
