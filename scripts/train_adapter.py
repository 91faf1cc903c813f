"""Train a query adapter (an experiment for #15; measured and not shipped, docs/adapter.md): a
linear map that moves a question's vector toward the vectors of passages that answer such
questions, learnt from transcripts' own structure.

A reporter's question in a briefing and the opening of the answer that follows it are a pair;
nothing is labelled by hand and no evaluation set is read. The adapter is `q + q @ A`,
renormalised, with `A` a 384 × 384 matrix started at zero, trained with in-batch negatives
(InfoNCE) plus the other answers of the same briefing as hard negatives. Stored passages are
untouched, so an index need not be rebuilt and the cost per question is one small product.

Data: the Briefing Room archive in the public-domain GitHub repository `brian14708/wh-briefings`
(CC0; the transcripts are works of the U.S. Government), at the commit below:

    git clone https://github.com/brian14708/wh-briefings /tmp/whb-repo
    git -C /tmp/whb-repo archive 737ca03a271adc205c67766074ec8d0070f7ad95 \
        press-briefings speeches-remarks | tar -x -C /tmp/whb
    .venv/bin/python scripts/train_adapter.py --source /tmp/whb --out /tmp/adapter.npz \
        --vectors /tmp/adapter-vectors.npz

Left out: every transcript of the evaluation sets (`corpora/heldout`, `corpora/real`, and the
three `corpora/train` files `eval/dev2_qa.jsonl` is written over) and every file dated within
`--gap` days of one of them, so no event an evaluation set asks about is trained on. A tenth of
the remaining briefings (by file) is held back to choose the epoch and report the gain.
Seeded; the list of files used is written beside the output (`.files.txt`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.chunk import split_sentences  # noqa: E402
from qa.ingest import read_transcript  # noqa: E402

COMMIT = "737ca03a271adc205c67766074ec8d0070f7ad95"
DEV2_FILES = {
    "2022-12-08-background-press-call-on-the-release-of-brittney-griner.md",
    "2023-01-23-on-the-record-press-call-by-white-house-spokesperson-ian-sams-2.md",
    "2023-11-16-remarks-by-president-biden-in-a-press-conference-woodside-ca.md",
}
ASKER = re.compile(r"^(?:Q|QUESTION|REPORTER)\b", re.I)
DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")
WINDOW = 3  # sentences of the answer's opening: about what a quote with its context holds
MAX_CHARS = 400


@dataclass(frozen=True)
class Item:
    doc: str
    question: str
    answer: str


def _date(name: str) -> dt.date | None:
    m = DATE.match(name)
    return dt.date.fromisoformat(m.group(1)) if m else None


def excluded_dates() -> list[dt.date]:
    names = [p.name for d in ("heldout", "real") for p in (ROOT / "corpora" / d).iterdir()]
    return [d for n in [*names, *DEV2_FILES] if (d := _date(n)) is not None]


def _opening(text: str, start: int, end: int, wrapped: bool) -> str | None:
    spans = split_sentences(text, start, end, wrapped)[:WINDOW]
    out = " ".join(text[s:e] for s, e in spans)[:MAX_CHARS]
    return out if len(out.split()) >= 6 else None


def _question(text: str, start: int, end: int, wrapped: bool) -> str | None:
    """The asking part of a reporter's turn: its last sentence with a question mark, with the
    one before it when that one is short (as scripts/train_reranker.py reads it)."""
    spans = split_sentences(text, start, end, wrapped)
    asking = [i for i, (s, e) in enumerate(spans) if "?" in text[s:e]]
    if not asking:
        return None
    i = asking[-1]
    q = text[spans[i][0] : spans[i][1]]
    if len(q.split()) < 8 and i > 0:
        q = text[spans[i - 1][0] : spans[i - 1][1]] + " " + q
    return q[:MAX_CHARS] if len(q.split()) >= 4 else None


def items_of(path: Path, root: Path) -> list[Item]:
    t = read_transcript(path, root)
    turns = t.turns
    pairs: list[tuple[str, str]] = []
    for turn, nxt in itertools.pairwise(turns):
        if not (turn.speaker and ASKER.match(turn.speaker)):
            continue
        if not nxt.speaker or ASKER.match(nxt.speaker):
            continue
        q = _question(t.text, turn.start, turn.end, t.wrapped)
        a = _opening(t.text, nxt.start, nxt.end, t.wrapped)
        if q and a:
            pairs.append((q, a))
    return [Item(t.doc_id, q, a) for q, a in pairs]


def rank_of_answer(q: np.ndarray, a: np.ndarray) -> np.ndarray:
    """For each question i, how many of all answers score above its own answer i."""
    s = q @ a.T
    own = np.diag(s)
    ranks: np.ndarray = (s > own[:, None]).sum(axis=1)
    return ranks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--gap", type=int, default=3, help="days around an evaluation file left out")
    ap.add_argument("--max-items", type=int, default=12000)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--decay", type=float, default=1e-2, help="L2 pull of A toward zero")
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--hard", type=int, default=3, help="same-briefing negatives per question")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--vectors", type=Path, help="cache the embedded pairs here (.npz)")
    args = ap.parse_args()

    import torch

    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    bad = excluded_dates()
    files = sorted(p for p in args.source.rglob("*.md") if p.is_file())
    kept = []
    for p in files:
        day = _date(p.name)
        if p.name in DEV2_FILES or day is None:
            continue
        if any(abs((day - b).days) <= args.gap for b in bad):
            continue
        kept.append(p)
    items: list[Item] = []
    used: list[Path] = []
    for p in kept:
        try:
            got = items_of(p, p.parent)
        except Exception as exc:  # a file the reader rejects is skipped, and said
            print(f"skip {p.name}: {exc}", file=sys.stderr)
            continue
        if len(got) >= 2:
            items += got
            used.append(p)
    print(
        f"{len(files)} files, {len(kept)} after exclusions, {len(used)} with pairs, "
        f"{len(items)} pairs",
        flush=True,
    )
    # Whole briefings are taken, so that a question's hard negatives (other answers of its
    # briefing) are embedded anyway.
    docs = sorted({i.doc for i in items})
    rng.shuffle(docs)
    by_doc: dict[str, list[Item]] = {}
    for i in items:
        by_doc.setdefault(i.doc, []).append(i)
    check: list[Item] = []
    train: list[Item] = []
    for d in docs:
        if len(check) < args.max_items // 10:
            check += by_doc[d]
        elif len(train) < args.max_items:
            train += by_doc[d]
    answers_of = {d: {i.answer for i in by_doc[d]} for d in docs}
    print(f"train {len(train)} pairs, check {len(check)}", flush=True)

    texts = sorted({*(i.question for i in train + check), *(i.answer for i in train + check)})
    if args.vectors and args.vectors.exists():
        z = np.load(args.vectors, allow_pickle=False)
        cached = dict(zip(z["texts"].tolist(), z["vecs"], strict=True))
    else:
        cached = {}
    todo = [t for t in texts if t not in cached]
    if todo:
        from qa.embed.factory import load_embedder
        from qa.settings import Settings

        model = load_embedder(Settings())
        t0 = time.time()
        vecs = model.embed(todo, 64)
        print(f"embedded {len(todo)} texts in {time.time() - t0:.0f} s", flush=True)
        cached.update(zip(todo, vecs, strict=True))
        if args.vectors:
            keys = list(cached)
            np.savez(args.vectors, texts=np.array(keys), vecs=np.stack([cached[k] for k in keys]))
    vec = {t: cached[t] for t in texts}

    def stack(ts: list[str]) -> np.ndarray:
        return np.stack([vec[t] for t in ts]).astype(np.float32)

    cq, ca = stack([i.question for i in check]), stack([i.answer for i in check])
    base = rank_of_answer(cq, ca)
    print(
        f"check, bi-encoder: top-1 {np.mean(base == 0):.3f} top-5 {np.mean(base < 5):.3f} "
        f"MRR {np.mean(1 / (1 + base)):.3f}",
        flush=True,
    )

    tq = torch.from_numpy(stack([i.question for i in train]))
    ta = torch.from_numpy(stack([i.answer for i in train]))
    hard = []
    for i in train:
        others = sorted(answers_of[i.doc] - {i.answer})
        hard.append([vec[o] for o in rng.sample(others, min(args.hard, len(others)))])
    dim = tq.shape[1]
    th = torch.zeros((len(train), args.hard, dim))
    hmask = torch.zeros((len(train), args.hard), dtype=torch.bool)
    for n, hs in enumerate(hard):
        for m, h in enumerate(hs):
            th[n, m] = torch.from_numpy(h)
            hmask[n, m] = True
    A = torch.zeros((dim, dim), requires_grad=True)
    opt = torch.optim.Adam([A], lr=args.lr)
    best = (float(np.mean(1 / (1 + base))), np.zeros((dim, dim), np.float32), 0)

    def adapt(q: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(q + q @ A, dim=-1)

    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(len(train))
        total = 0.0
        for s in range(0, len(train), args.batch):
            idx = perm[s : s + args.batch]
            q = adapt(tq[idx])
            logits = q @ ta[idx].T
            hl = torch.einsum("bd,bhd->bh", q, th[idx]).masked_fill(~hmask[idx], -1e4)
            logits = torch.cat([logits, hl], dim=1) / args.temperature
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(idx)))
            loss = loss + args.decay * (A**2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        with torch.no_grad():
            r = rank_of_answer(adapt(torch.from_numpy(cq)).numpy(), ca)
        mrr = float(np.mean(1 / (1 + r)))
        print(
            f"epoch {epoch}: loss {total / len(train):.4f} check top-1 {np.mean(r == 0):.3f} "
            f"top-5 {np.mean(r < 5):.3f} MRR {mrr:.3f}",
            flush=True,
        )
        if mrr > best[0]:
            best = (mrr, A.detach().numpy().copy(), epoch)
    mrr, weights, epoch = best
    args.out.parent.mkdir(parents=True, exist_ok=True)
    listing = "\n".join(p.name for p in used) + "\n"
    np.savez(
        args.out,
        A=weights.astype(np.float32),
        epoch=np.array(epoch),
        check_mrr=np.array(mrr),
        base_mrr=np.array(float(np.mean(1 / (1 + base)))),
        files_sha256=np.array(hashlib.sha256(listing.encode()).hexdigest()),
        commit=np.array(COMMIT),
    )
    args.out.with_suffix(".files.txt").write_text(listing, encoding="utf-8")
    print(f"kept epoch {epoch}: check MRR {mrr:.3f} -> {args.out}", flush=True)


if __name__ == "__main__":
    main()
