"""Shared helpers for the open-data extractors of issue 15 (see /work/notes/DATA-SPEC.md).

Standard library only, so that every extractor reruns on a bare Python 3.11.
The sources are read from a bare git mirror (the `fetch` tool's /work/.mirror/owner+name/repo),
never from a work tree, so a record can always be traced to `git rev-parse HEAD` of the mirror.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
import io
import xml.etree.ElementTree as ET

MIRROR_ROOT = os.environ.get("BEDSIDE_MIRRORS", "/work/.mirror")
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "training", "learned"))

KEY_ORDER = ("id", "source", "group", "split", "role", "text", "labels", "feedback_kind", "how")


def mirror(owner_name: str, override: str | None = None) -> str:
    """The bare git dir of a fetched repository; `override` (a path) wins when given."""
    path = override or os.path.join(MIRROR_ROOT, owner_name.replace("/", "+"), "repo")
    if not os.path.isdir(path):
        sys.exit(f"mirror of {owner_name} not found at {path}: fetch github:{owner_name} first")
    return path


def git(gitdir: str, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={gitdir}", *args], check=True, capture_output=True).stdout.decode(
        "utf-8"
    )


def head(gitdir: str) -> str:
    return git(gitdir, "rev-parse", "HEAD").strip()


def ls_files(gitdir: str, under: str = "") -> list[str]:
    args = ["ls-tree", "-r", "--name-only", "HEAD"]
    if under:
        args.append(under)
    return sorted(p for p in git(gitdir, *args).splitlines() if p)


def show_bytes(gitdir: str, path: str) -> bytes | None:
    """The blob at HEAD:path, or None when the snapshot lacks it (files of 4 MiB and more are absent)."""
    r = subprocess.run(["git", f"--git-dir={gitdir}", "show", f"HEAD:{path}"], capture_output=True)
    return r.stdout if r.returncode == 0 else None


def show(gitdir: str, path: str) -> str | None:
    b = show_bytes(gitdir, path)
    return None if b is None else b.decode("utf-8", errors="replace")


def show_many(gitdir: str, paths: list[str]) -> dict[str, bytes | None]:
    """Many blobs through one `git cat-file --batch` (thousands of small XML files)."""
    proc = subprocess.Popen(
        ["git", f"--git-dir={gitdir}", "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    out: dict[str, bytes | None] = {}
    assert proc.stdin and proc.stdout
    for p in paths:
        proc.stdin.write(f"HEAD:{p}\n".encode())
        proc.stdin.flush()
        header = proc.stdout.readline().decode().split()
        if len(header) < 3 or header[1] == "missing":
            out[p] = None
            continue
        size = int(header[2])
        out[p] = proc.stdout.read(size)
        proc.stdout.read(1)
    proc.stdin.close()
    proc.wait()
    return out


def split_of(source: str, group: str) -> str:
    """The one rule of DATA-SPEC.md: held out iff sha256("source/group") % 5 == 0."""
    return "heldout" if int(hashlib.sha256(f"{source}/{group}".encode()).hexdigest(), 16) % 5 == 0 else "train"


def record(rid: str, source: str, group: str, role: str, text: str, labels=None, feedback_kind=None, how="source",
           **extra) -> dict:
    rec = {
        "id": rid,
        "source": source,
        "group": group,
        "split": split_of(source, group),
        "role": role,
        "text": text,
        "labels": list(labels or []),
        "feedback_kind": feedback_kind,
        "how": how,
    }
    rec.update(extra)
    return rec


def write_jsonl(path: str, records: list[dict]) -> None:
    ids = set()
    for r in records:
        if r["id"] in ids:
            raise SystemExit(f"duplicate id {r['id']} in {path}")
        ids.add(r["id"])
        if not r["text"].strip():
            raise SystemExit(f"empty text in {r['id']}")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    held = sum(r["split"] == "heldout" for r in records)
    groups = len({r["group"] for r in records})
    print(f"{path}: {len(records)} records, {groups} groups, {held} heldout", file=sys.stderr)


# ---------------------------------------------------------------- text

_WS = re.compile(r"\s+")


def clean(text: str) -> str:
    return _WS.sub(" ", text).strip()


# A sentence ends at . ! ? (optionally followed by a closing quote/bracket) before whitespace and
# a capital, digit, quote or bracket. Abbreviations such as "e.g." or "Dr." are kept whole.
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|vs|Dr|Mr|Mrs|Ms|St|No|approx|Fig|al)\.$", re.I)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    """Sentences of a paragraph-ish text. Newlines and list bullets (" - ") also end a sentence."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n|\n|\s{3,}-\s+|\s+-\s{2,}|^\s*-\s+", text):
        block = clean(block)
        if not block:
            continue
        start = 0
        for m in _BOUNDARY.finditer(block):
            cand = block[start : m.start()]
            if _ABBREV.search(cand.split(" ")[-1] if cand else ""):
                continue
            out.append(clean(block[start : m.end()]))
            start = m.end()
        rest = clean(block[start:])
        if rest:
            out.append(rest)
    return [s for s in out if s]


def _split_long(sentence: str, max_words: int) -> list[str]:
    words = sentence.split(" ")
    if len(words) <= max_words:
        return [sentence]
    # Prefer to cut after ; or , near the middle of each piece; otherwise cut at max_words.
    pieces: list[str] = []
    while len(words) > max_words:
        cut = max_words
        for i in range(max_words, max_words // 2, -1):
            if words[i - 1].endswith((";", ",", ":")):
                cut = i
                break
        pieces.append(" ".join(words[:cut]))
        words = words[cut:]
    if words:
        pieces.append(" ".join(words))
    return pieces


def chunks(text: str, max_words: int = 60, max_sentences: int = 3) -> list[str]:
    """Chat-sized chunks: 1 to `max_sentences` consecutive sentences and at most `max_words` words."""
    sents: list[str] = []
    for s in sentences(text):
        sents.extend(_split_long(s, max_words))
    out: list[str] = []
    cur: list[str] = []
    cur_words = 0
    for s in sents:
        n = len(s.split(" "))
        if cur and (len(cur) >= max_sentences or cur_words + n > max_words):
            out.append(" ".join(cur))
            cur, cur_words = [], 0
        cur.append(s)
        cur_words += n
    if cur:
        out.append(" ".join(cur))
    return out


def stride_sample(items: list, k: int) -> list:
    """A deterministic, evenly spread sample of k items of an already sorted list."""
    if k >= len(items):
        return list(items)
    if k <= 0:
        return []
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


# ---------------------------------------------------------------- xlsx (no openpyxl needed)

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _col_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if ch.isalpha():
            n = n * 26 + (ord(ch.upper()) - 64)
        else:
            break
    return n - 1


def xlsx_rows(data: bytes, sheet: int = 1) -> list[list[str]]:
    """Rows of one worksheet as lists of strings (shared and inline strings, numbers as written)."""
    z = zipfile.ZipFile(io.BytesIO(data))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in z.namelist():
        root = ET.fromstring(z.read("xl/sharedStrings.xml"))
        for si in root.findall("m:si", _NS):
            shared.append("".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")))
    root = ET.fromstring(z.read(f"xl/worksheets/sheet{sheet}.xml"))
    rows: list[list[str]] = []
    for row in root.iter(f"{{{_NS['m']}}}row"):
        vals: dict[int, str] = {}
        for c in row.findall("m:c", _NS):
            idx = _col_index(c.get("r", "A"))
            t = c.get("t")
            if t == "s":
                v = c.find("m:v", _NS)
                vals[idx] = shared[int(v.text)] if v is not None and v.text else ""
            elif t == "inlineStr":
                vals[idx] = "".join(x.text or "" for x in c.iter(f"{{{_NS['m']}}}t"))
            else:
                v = c.find("m:v", _NS)
                vals[idx] = v.text if v is not None and v.text else ""
        if vals:
            rows.append([vals.get(i, "") for i in range(max(vals) + 1)])
    return rows


def question_pieces(text: str, max_words: int = 60) -> list[str]:
    """A long question cut into pieces of at most `max_words` words, at sentence ends where possible,
    of roughly equal length (so no piece is a stray "Thank you!")."""
    words = len(text.split())
    if words <= max_words:
        return [text]
    sents: list[str] = []
    for s in sentences(text):
        sents.extend(_split_long(s, max_words))
    n = -(-words // max_words)
    target = words / n
    out: list[str] = []
    cur: list[str] = []
    cur_words = 0
    for s in sents:
        k = len(s.split())
        if cur and (cur_words + k > max_words or cur_words >= target):
            out.append(" ".join(cur))
            cur, cur_words = [], 0
        cur.append(s)
        cur_words += k
    if cur:
        if out and cur_words < 12 and len(out[-1].split()) + cur_words <= max_words:
            out[-1] = out[-1] + " " + " ".join(cur)
        else:
            out.append(" ".join(cur))
    return out


def strip_form_headers(text: str) -> str:
    """NLM form questions come as "SUBJECT: ...\\nMESSAGE: ...": keep the message (the subject when
    there is no message)."""
    m = re.search(r"MESSAGE:\s*(.*)", text, re.S)
    if m and m.group(1).strip():
        return clean(m.group(1))
    return clean(re.sub(r"^\s*SUBJECT:\s*", "", text))
