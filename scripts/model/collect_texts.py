"""Collect the open, licensed fitting texts for the static token table (issue 15).

Reads the public repositories as bare git mirrors (see ``MIRRORS``; each is read at a fixed commit) and
the project corpus ``tests/corpus/tune/*.jsonl``. Writes chat-sized texts (text, source, group) for the
groups that are NOT held out by the project's split rule (DATA-SPEC.md), deduplicated, sorted:

    training/unlabeled/texts.jsonl.gz      the fitting texts (committed: they are an input of the table)

and, for measurement only (never fitted on, not committed):

    /work/fetched/model/heldout_texts.jsonl.gz   texts of the held-out groups, same chunking

Run: python scripts/model/collect_texts.py  (~1.5 min; needs openpyxl and the mirrors under $BEDSIDE_MIRRORS,
default /work/.mirror, as the search tool's fetch lays them out). Deterministic: sorted inputs, hash-based choices.
"""

from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIRROR = os.environ.get("BEDSIDE_MIRRORS", "/work/.mirror")
OUT = os.path.join(ROOT, "training", "unlabeled", "texts.jsonl.gz")
HELDOUT_OUT = os.environ.get("BEDSIDE_MODEL_CACHE", "/work/fetched/model") + "/heldout_texts.jsonl.gz"

# repository -> commit read (the versions the committed texts came from).
MIRRORS = {
    "abachaa/MTS-Dialog": "3ff0801933608d6f570468c13125125fb5cabdea",
    "wyim/aci-bench": "b909b2bb9cf1d19de08df15cddde7bd0179665e4",
    "abachaa/MedQuAD": "577bd37b96c02d1833b2c9eed2de9f96964e96cb",
    "abachaa/MeQSum": "51e36cf65c12602333b6fdc3ae8ecf10430529f7",
    "google-research-datasets/dstc8-schema-guided-dialogue": "e852981ae34990f4358979625854259302feaa78",
    "venkatasg/Advice-EMNLP2020": "8a6b35d4bb847ef2ac645e979e3e1139ca62e1bf",
}

# Caps per source keep the mix chat-heavy (SGD alone has ~460k turns, MedQuAD ~100k sentences).
CAPS = {"sgd": 16000, "medquad": 14000}
SKIPPED: list[str] = []
MAX_CHARS = 320  # longer turns/answers are split into 1-3 sentence pieces


def heldout(source: str, group: str) -> bool:
    """The project's split rule (DATA-SPEC.md), identical everywhere."""
    return int(hashlib.sha256(f"{source}/{group}".encode()).hexdigest(), 16) % 5 == 0


def h(s: str) -> int:
    return int(hashlib.sha256(s.encode()).hexdigest()[:12], 16)


def git_show(repo: str, path: str) -> bytes:
    gd = os.path.join(MIRROR, repo.replace("/", "+"), "repo")
    return subprocess.run(
        ["git", f"--git-dir={gd}", "show", f"{MIRRORS[repo]}:{path}"], check=True, capture_output=True
    ).stdout


def git_ls(repo: str) -> list[str]:
    gd = os.path.join(MIRROR, repo.replace("/", "+"), "repo")
    out = subprocess.run(
        ["git", f"--git-dir={gd}", "ls-tree", "-r", "--name-only", MIRRORS[repo]], check=True, capture_output=True
    ).stdout.decode()
    return sorted(out.split("\n")[:-1])


SENT = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Za-z0-9])")
WS = re.compile(r"\s+")


def clean(t: str) -> str:
    t = t.replace("\u00a0", " ")
    t = re.sub(r"\s+-\s+(?=[A-Z])", ". ", t)  # MedQuAD bullet lists "  - Foo" -> sentences
    return WS.sub(" ", t).strip()


def detok(t: str) -> str:
    """ACI-Bench transcripts are tokenized ("hi , martha ."); make them read like chat."""
    t = re.sub(r" ([,.?!;:])", r"\1", t)
    t = re.sub(r" (n't|'s|'re|'ve|'ll|'m|'d)\b", r"\1", t)
    return t


def pieces(text: str, key: str) -> list[str]:
    """Chat-sized pieces: the text itself when short, else runs of 1-3 sentences (hash-chosen)."""
    text = clean(text)
    if not text:
        return []
    if len(text) <= MAX_CHARS:
        return [text]
    sents = [s.strip() for s in SENT.split(text) if s.strip()]
    out, i, k = [], 0, 0
    while i < len(sents):
        n = 1 + h(f"{key}/{k}") % 3
        chunk = " ".join(sents[i : i + n])
        while len(chunk) > MAX_CHARS * 2 and n > 1:
            n -= 1
            chunk = " ".join(sents[i : i + n])
        if len(chunk) > MAX_CHARS * 2:  # one very long "sentence": cut at word boundaries
            words = chunk.split(" ")
            for j in range(0, len(words), 50):
                out.append(" ".join(words[j : j + 50]))
        else:
            out.append(chunk)
        i += n
        k += 1
    return out


def mts():
    repo = "abachaa/MTS-Dialog"
    files = {
        "train": "Main-Dataset/MTS-Dialog-TrainingSet.csv",
        "val": "Main-Dataset/MTS-Dialog-ValidationSet.csv",
        "test1": "Main-Dataset/MTS-Dialog-TestSet-1-MEDIQA-Chat-2023.csv",
        "test2": "Main-Dataset/MTS-Dialog-TestSet-2-MEDIQA-Sum-2023.csv",
    }
    for split, path in files.items():
        for row in csv.DictReader(io.StringIO(git_show(repo, path).decode("utf-8"))):
            group = f"mts-{split}-{int(row['ID']):04d}"
            for ln in row["dialogue"].split("\n"):
                m = re.match(r"\s*([A-Za-z_ ]{2,20}):\s*(.*)", ln)
                turn = m.group(2) if m else ln
                for p in pieces(turn, group):
                    yield "mts-dialog", group, p


def aci():
    repo = "wyim/aci-bench"
    for name in ["train", "valid", "clinicalnlp_taskB_test1", "clinicalnlp_taskC_test2", "clef_taskC_test3"]:
        path = f"data/challenge_data/{name}.csv"
        for row in csv.DictReader(io.StringIO(git_show(repo, path).decode("utf-8"))):
            group = f"aci-{row['encounter_id']}"
            for ln in row["dialogue"].split("\n"):
                turn = detok(re.sub(r"^\s*\[[a-z_ ]+\]\s*", "", ln))
                for p in pieces(turn, group):
                    yield "aci-bench", group, p


def medquad():
    repo = "abachaa/MedQuAD"
    for path in git_ls(repo):
        m = re.match(r"(\d+)_[^/]+/([^/]+)\.xml$", path)
        if not m:
            continue
        group = f"medquad-{m.group(1)}-{m.group(2)}"
        try:
            root = ET.fromstring(git_show(repo, path))
        except ET.ParseError:
            continue
        for ans in root.iter("Answer"):
            for p in pieces(ans.text or "", group):
                yield "medquad", group, p


def meqsum():
    import openpyxl

    repo = "abachaa/MeQSum"
    data = git_show(repo, "MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    for i, row in enumerate(ws.values):
        if i == 0 or not row[0]:
            continue
        group = "meqsum-" + re.sub(r"(\.xml)?\.txt$", "", str(row[0]).strip())
        chq = re.sub(r"\b(SUBJECT|MESSAGE):\s*", " ", str(row[1] or ""))
        for p in pieces(chq, group):
            yield "meqsum", group, p
        if row[2]:
            yield "meqsum", group, clean(str(row[2]))


def sgd():
    repo = "google-research-datasets/dstc8-schema-guided-dialogue"
    for path in git_ls(repo):
        m = re.match(r"(train|dev|test)/dialogues_\d+\.json$", path)
        if not m:
            continue
        try:
            blob = git_show(repo, path)
        except subprocess.CalledProcessError:
            # The mirror lacks some of the largest files; skip them (the committed texts say which were read).
            SKIPPED.append(path)
            continue
        for d in json.loads(blob):
            group = f"sgd-{m.group(1)}-{d['dialogue_id']}"
            for t in d["turns"]:
                yield "sgd", group, clean(t["utterance"])


def advice():
    repo = "venkatasg/Advice-EMNLP2020"
    for path in git_ls(repo):
        m = re.match(r"Dataset/(askparents|needadvice)_(train|dev|test)\.tsv$", path)
        if not m:
            continue
        rows = csv.DictReader(io.StringIO(git_show(repo, path).decode("utf-8")), delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in rows:
            sid = row["ID"]
            group = f"advice-emnlp-{m.group(1)}-{sid.split('-')[0]}"
            yield "advice-emnlp", group, detok(clean(row["Sentence"]))


def corpus():
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "corpus", "tune", "*.jsonl"))):
        for ln in open(path, encoding="utf-8"):
            if ln.strip():
                r = json.loads(ln)
                yield "corpus", f"corpus-{r['id']}", clean(r["text"])


def key(t: str) -> str:
    """Duplicate key: what the tokenizer would see, modulo spacing and punctuation."""
    return re.sub(r"[^0-9a-z]+", "", t.lower())


def learned_heldout_keys() -> set[str]:
    """Texts of held-out rows in training/learned: never fitted on, whatever group they came under."""
    keys = set()
    for path in sorted(glob.glob(os.path.join(ROOT, "training", "learned", "*.jsonl"))):
        for ln in open(path, encoding="utf-8"):
            if ln.strip():
                r = json.loads(ln)
                if r.get("split") == "heldout":
                    keys.add(key(r["text"]))
    return keys


def main() -> int:
    banned = learned_heldout_keys()
    fit: dict[str, dict] = {}
    held: dict[str, dict] = {}
    stats: dict[str, list[int]] = {}
    for gen in (mts, aci, medquad, meqsum, sgd, advice, corpus):
        for source, group, text in gen():
            if len(text) < 2 or not re.search(r"[A-Za-z]", text):
                continue
            k = key(text)
            if not k:
                continue
            st = stats.setdefault(source, [0, 0, 0])
            if heldout(source, group):
                held.setdefault(k, {"text": text, "source": source, "group": group})
                st[1] += 1
                continue
            if k in banned:
                st[2] += 1
                continue
            if k not in fit:
                fit[k] = {"text": text, "source": source, "group": group}
                st[0] += 1
    # A text also seen in a held-out group stays out of the fit.
    for k in list(fit):
        if k in held:
            del fit[k]
    rows = sorted(fit.values(), key=lambda r: (r["source"], h(r["source"] + r["text"]), r["text"]))
    out, per = [], {}
    for r in rows:
        c = per.get(r["source"], 0)
        if c >= CAPS.get(r["source"], 10**9):
            continue
        per[r["source"]] = c + 1
        out.append(r)
    out.sort(key=lambda r: (r["source"], r["group"], r["text"]))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            for r in out:
                gz.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    hrows = sorted(held.values(), key=lambda r: (r["source"], r["group"], r["text"]))
    os.makedirs(os.path.dirname(HELDOUT_OUT), exist_ok=True)
    with gzip.open(HELDOUT_OUT, "wt", encoding="utf-8") as gz:
        for r in hrows:
            gz.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"fitting texts: {len(out)}  -> {OUT}")
    for s in sorted(per):
        print(f"  {s:14s} kept {per[s]:6d}  (unique train {stats[s][0]}, held-out group texts {stats[s][1]},"
              f" dropped as training/learned held-out text {stats[s][2]})")
    print(f"SGD files absent from the mirror, skipped: {len(SKIPPED)}")
    print(f"held-out group texts (measurement only): {len(hrows)} -> {HELDOUT_OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
