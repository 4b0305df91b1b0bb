#!/usr/bin/env python3
"""Turns of ACI-Bench and PriMock57 consultations, labeled by reading, for the learned layer (issue 15).

Two steps, both rerunnable:

    python3 scripts/data/aci_primock.py batches   # write reading batches to /work/fetched/aci/batches/
    python3 scripts/data/aci_primock.py merge     # labels/*.txt -> training/learned/{aci-bench,primock57}.jsonl

Sources are read straight from the bare git mirrors at the pinned commits below (see
training/learned/SOURCES-aci-primock.md), so every run sees the same text.

Batches hold whole encounters, in the order they are to be read: ACI-Bench held-out encounters first, then
PriMock57 held-out, PriMock57 train, ACI-Bench train. Each batch shows every turn of its encounters in order
(so each doctor turn has the patient turn before it as context) and counts ~150 staff turns.

A label file /work/fetched/aci/labels/NNN.txt belongs to batch NNN; its existence means every encounter of
that batch was read. Lines (blank lines and '#' comments ignored):

    aci-D2N001-012            a full id that IS medical advice
    aci-D2N001-012-b          one piece of a split turn that IS advice
    aci-D2N001: 12 15-a 15-b  shorthand: group, then turn numbers that are advice
    F praise aci-D2N001-003   a patient turn that is feedback (praise | complaint | suggestion)

Encounters of batches without a label file are left out of the JSONL: never half an encounter.
"""

import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

ACI_GIT = "/work/.mirror/wyim+aci-bench/repo"
ACI_COMMIT = "b909b2bb9cf1d19de08df15cddde7bd0179665e4"
ACI_FILES = ["train", "valid", "clinicalnlp_taskB_test1", "clinicalnlp_taskC_test2", "clef_taskC_test3"]
PRI_GIT = "/work/.mirror/babylonhealth+primock57/repo"
PRI_COMMIT = "cd2ac707ad03cb4d2531f4ec6b90c659bf4357c5"

WORK = Path("/work/fetched/aci")
BATCHES = WORK / "batches"
LABELS = WORK / "labels"
OUT = Path(__file__).resolve().parents[2] / "training" / "learned"

BATCH_STAFF_TURNS = 150
# A turn longer than this is read as chat-sized pieces of a few sentences each.
SPLIT_WORDS = 120
PIECE_WORDS = 70
FEEDBACK_KINDS = {"praise", "complaint", "suggestion"}


def git_show(git_dir, commit, path):
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], capture_output=True, text=True, check=True
    ).stdout


def git_ls(git_dir, commit, under):
    out = subprocess.run(
        ["git", f"--git-dir={git_dir}", "ls-tree", "-r", "--name-only", commit, under],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def split_of(source, group):
    return "heldout" if int(hashlib.sha256(f"{source}/{group}".encode()).hexdigest(), 16) % 5 == 0 else "train"


# ---------------------------------------------------------------- ACI-Bench

ACI_TAG = re.compile(r"^\[(doctor|patient|patient_guest)\]\s*", re.M)


def detok(text):
    """ACI-Bench text is tokenised ('hi , martha .'); join it back into chat-like text."""
    t = re.sub(r"\s+", " ", text).strip()
    t = re.sub(r" ([,.?!;:%])", r"\1", t)
    t = re.sub(r"\b(gon|wan|got) (na|ta)\b", r"\1\2", t)
    t = re.sub(r" n't\b", "n't", t)
    return t


def aci_encounters():
    """Encounter id -> (subset, file, [(speaker, text)]), deduplicated by encounter id."""
    csv.field_size_limit(10**9)
    encounters = {}
    for name in ACI_FILES:
        path = f"data/challenge_data/{name}.csv"
        for row in csv.DictReader(io.StringIO(git_show(ACI_GIT, ACI_COMMIT, path))):
            eid = row["encounter_id"].strip()
            if eid in encounters:
                continue
            dialogue = row["dialogue"]
            # D2N131 starts untagged: its first line is the doctor's greeting.
            if not ACI_TAG.match(dialogue.lstrip()):
                dialogue = "[doctor] " + dialogue.lstrip()
            parts = ACI_TAG.split(dialogue)
            lines = []
            for i in range(1, len(parts), 2):
                speaker = "staff" if parts[i] == "doctor" else "patient"
                text = detok(parts[i + 1])
                if text:
                    lines.append((speaker, text))
            encounters[eid] = (row["dataset"], path, lines)
    return encounters


# ---------------------------------------------------------------- PriMock57

INTERVAL = re.compile(r'xmin = ([\d.]+)\s*\n\s*xmax = ([\d.]+)\s*\n\s*text = "((?:[^"]|"")*)"')


def clean_primock(text):
    t = text.replace('""', '"')
    t = re.sub(r"</?UNSURE>", "", t)
    t = re.sub(r"<(UNIN|INAUDIBLE_SPEECH)/>", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def primock_consultations():
    """Consultation id -> (path prefix, [(speaker, text)]), utterances of both tiers ordered by start time."""
    files = [f for f in git_ls(PRI_GIT, PRI_COMMIT, "transcripts") if f.endswith(".TextGrid")]
    ids = sorted({re.sub(r"_(doctor|patient)\.TextGrid$", "", Path(f).name) for f in files})
    out = {}
    for cid in ids:
        utts = []
        for who, role in (("doctor", "staff"), ("patient", "patient")):
            tg = git_show(PRI_GIT, PRI_COMMIT, f"transcripts/{cid}_{who}.TextGrid")
            for xmin, _xmax, text in INTERVAL.findall(tg):
                text = clean_primock(text)
                if re.search(r"[A-Za-z0-9]", text):
                    utts.append((float(xmin), 0 if role == "staff" else 1, role, text))
        utts.sort()
        out[cid] = (f"transcripts/{cid}_{{doctor,patient}}.TextGrid", [(r, t) for _, _, r, t in utts])
    return out


# ---------------------------------------------------------------- turns and pieces


def merge_turns(lines):
    turns = []
    for speaker, text in lines:
        if turns and turns[-1][0] == speaker:
            turns[-1] = (speaker, turns[-1][1] + " " + text)
        else:
            turns.append((speaker, text))
    return turns


SENT_END = re.compile(r"(?<=[.?!])\s+")


def pieces(text):
    """A long turn as groups of whole sentences of ~PIECE_WORDS words (2-4 sentences usually)."""
    if len(text.split()) <= SPLIT_WORDS:
        return [text]
    sents = [s for s in SENT_END.split(text) if s]
    groups, cur = [], []
    for s in sents:
        cur.append(s)
        n = sum(len(x.split()) for x in cur)
        if n >= PIECE_WORDS or len(cur) >= 4 and n >= PIECE_WORDS // 2:
            groups.append(" ".join(cur))
            cur = []
    if cur:
        tail = " ".join(cur)
        if groups and len(tail.split()) < 20:
            groups[-1] += " " + tail
        else:
            groups.append(tail)
    # Unpunctuated ASR text has no sentences to group: cut it into word runs, before a discourse marker if one
    # is near the cut.
    out = []
    for g in groups:
        out.extend(word_chunks(g) if len(g.split()) > SPLIT_WORDS else [g])
    return out


MARKERS = {"okay", "ok", "alright", "so", "now", "and", "um", "uh", "well", "but"}


def word_chunks(text):
    words = text.split()
    n = max(2, round(len(words) / PIECE_WORDS))
    size = len(words) / n
    cuts, start = [], 0
    for k in range(1, n):
        target = round(k * size)
        best = target
        for d in range(0, 11):
            for c in (target - d, target + d):
                if start < c < len(words) and words[c].strip(",.?!").lower() in MARKERS:
                    best = c
                    break
            else:
                continue
            break
        cuts.append(best)
        start = best
    bounds = [0] + cuts + [len(words)]
    return [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:]) if b > a]


def units(source, prefix, group_key, turns):
    """Records (without labels) of one encounter: one per turn, or one per piece of a long turn."""
    group = f"{prefix}-{group_key}"
    split = split_of(source, group)
    recs = []
    for n, (role, text) in enumerate(turns, 1):
        ps = pieces(text) if role == "staff" else [text]
        for k, p in enumerate(ps):
            rid = f"{group}-{n:03d}" + (f"-{chr(ord('a') + k)}" if len(ps) > 1 else "")
            recs.append({"id": rid, "source": source, "group": group, "split": split, "role": role, "text": p})
    return recs


def all_encounters():
    """(group, meta, records) for every encounter, in reading order."""
    aci = []
    for eid, (subset, path, lines) in sorted(aci_encounters().items()):
        aci.append((f"aci-{eid}", f"{subset} {path}", units("aci-bench", "aci", eid, merge_turns(lines))))
    pri = []
    for cid, (path, lines) in sorted(primock_consultations().items()):
        pri.append((f"primock-{cid}", path, units("primock57", "primock", cid, merge_turns(lines))))
    ho = lambda e: e[2][0]["split"] == "heldout"  # noqa: E731
    return (
        [e for e in aci if ho(e)]
        + [e for e in pri if ho(e)]
        + [e for e in pri if not ho(e)]
        + [e for e in aci if not ho(e)]
    )


def plan_batches(encounters):
    batches, cur, n = [], [], 0
    for enc in encounters:
        staff = sum(1 for r in enc[2] if r["role"] == "staff")
        if cur and n + staff > BATCH_STAFF_TURNS * 1.15:
            batches.append(cur)
            cur, n = [], 0
        cur.append(enc)
        n += staff
    if cur:
        batches.append(cur)
    return batches


def write_batches():
    BATCHES.mkdir(parents=True, exist_ok=True)
    LABELS.mkdir(parents=True, exist_ok=True)
    batches = plan_batches(all_encounters())
    index = []
    for b, encs in enumerate(batches, 1):
        lines = []
        for group, meta, recs in encs:
            lines.append(f"## {group} ({recs[0]['split']}) {meta}")
            for r in recs:
                short = r["id"][len(group) + 1 :]
                lines.append(f"{short} {'D' if r['role'] == 'staff' else 'p'}: {r['text']}")
            lines.append("")
        (BATCHES / f"{b:03d}.txt").write_text("\n".join(lines))
        index.append(f"{b:03d} " + " ".join(g for g, _, _ in encs))
    (BATCHES / "INDEX").write_text("\n".join(index) + "\n")
    print(f"{len(batches)} batches, {sum(len(e) for e in batches)} encounters")


def read_labels(path, known):
    advice, feedback = set(), {}
    for ln, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^F\s+(\w+)\s+(\S+)$", line)
        if m:
            kind, rid = m.groups()
            if kind not in FEEDBACK_KINDS:
                raise SystemExit(f"{path.name}:{ln}: unknown feedback kind")
            feedback[rid] = kind
            continue
        m = re.match(r"^((?:aci|primock)-\S+):\s*(.*)$", line)
        if m:
            group, nums = m.groups()
            for tok in nums.replace(",", " ").split():
                nm = re.match(r"^(\d+)(?:-?([a-z]))?$", tok)
                if not nm:
                    raise SystemExit(f"{path.name}:{ln}: bad turn number {tok!r}")
                rid = f"{group}-{int(nm.group(1)):03d}" + (f"-{nm.group(2)}" if nm.group(2) else "")
                if rid not in known and nm.group(2) is None:
                    # a whole split turn named by its number: every piece is advice
                    subs = [k for k in known if k.startswith(rid + "-")]
                    if subs:
                        advice.update(subs)
                        continue
                advice.add(rid)
            continue
        advice.add(line)
    for rid in list(advice) + list(feedback):
        if rid not in known:
            raise SystemExit(f"{path.name}: unknown id {rid}")
    return advice, feedback


def merge():
    batches = plan_batches(all_encounters())
    out = {"aci-bench": [], "primock57": []}
    for b, encs in enumerate(batches, 1):
        lab = LABELS / f"{b:03d}.txt"
        if not lab.exists():
            continue
        known = {r["id"]: r for _, _, recs in encs for r in recs}
        advice, feedback = read_labels(lab, known)
        for rid in advice:
            if known[rid]["role"] != "staff":
                raise SystemExit(f"{lab.name}: {rid} is a patient turn, cannot be advice")
        for rid in feedback:
            if known[rid]["role"] != "patient":
                raise SystemExit(f"{lab.name}: {rid} is a staff turn, cannot be feedback")
        for _, _, recs in encs:
            for r in recs:
                labels, kind = [], None
                if r["id"] in advice:
                    labels = ["medical_advice"]
                elif r["id"] in feedback:
                    labels, kind = ["feedback"], feedback[r["id"]]
                rec = dict(r, labels=labels, feedback_kind=kind, how="read")
                out[r["source"]].append(rec)
    OUT.mkdir(parents=True, exist_ok=True)
    for source, recs in out.items():
        with open(OUT / f"{source}.jsonl", "w", encoding="utf-8") as f:
            for r in recs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        stats(source, recs)


def stats(source, recs):
    def c(pred):
        return sum(1 for r in recs if pred(r))

    groups = {r["group"] for r in recs}
    print(
        f"{source}: {len(recs)} records, {len(groups)} encounters "
        f"({len({r['group'] for r in recs if r['split'] == 'heldout'})} heldout); "
        f"staff {c(lambda r: r['role'] == 'staff')} "
        f"(advice {c(lambda r: r['labels'] == ['medical_advice'])}, "
        f"heldout advice {c(lambda r: r['labels'] == ['medical_advice'] and r['split'] == 'heldout')}, "
        f"heldout staff {c(lambda r: r['role'] == 'staff' and r['split'] == 'heldout')}); "
        f"patient {c(lambda r: r['role'] == 'patient')} (feedback {c(lambda r: r['labels'] == ['feedback'])})"
    )


def counts_md():
    """Counts of the written JSONL files as a markdown table, for SOURCES-aci-primock.md."""
    rows = ["| file, split | encounters | records | staff: advice / not | patient: feedback / not |",
            "|---|---|---|---|---|"]
    for source in ("aci-bench", "primock57"):
        path = OUT / f"{source}.jsonl"
        recs = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        for split in ("train", "heldout", None):
            rs = [r for r in recs if split is None or r["split"] == split]
            groups = {r["group"] for r in rs}
            adv = sum(1 for r in rs if r["labels"] == ["medical_advice"])
            staff = sum(1 for r in rs if r["role"] == "staff")
            fb = sum(1 for r in rs if r["labels"] == ["feedback"])
            pat = sum(1 for r in rs if r["role"] == "patient")
            rows.append(f"| {source}.jsonl {split or 'all'} | {len(groups)} | {len(rs)} | {adv} / {staff - adv} "
                        f"| {fb} / {pat - fb} |")
    print("\n".join(rows))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "batches":
        write_batches()
    elif cmd == "merge":
        merge()
    elif cmd == "counts":
        counts_md()
    else:
        raise SystemExit("usage: aci_primock.py batches|merge|counts")
