"""Train a quote reranker: a cross-encoder fine-tuned from the bundled MiniLM weights (an
experiment for #15; the result is in docs/reranker.md and was not shipped).

Training pairs come from the structure of transcripts, never from an evaluation set: in
`corpora/train/` (public-domain White House briefings; the three files `eval/dev2_qa.jsonl` is
written over are left out), a reporter's question (`Q` turn, its last asking sentences) and the
first sentences of the answer that follows are a positive pair; windows of other answers in the
same briefing are negatives (half chosen as the lexically closest to the question, half at random).

    .venv/bin/python scripts/train_reranker.py --out /tmp/reranker --lr 8e-5 --epochs 4

It prints the mean reciprocal rank of the answer's opening among each question's candidates on
three held-back training briefings, for the bundled bi-encoder (cosine) and for the trained
cross-encoder, and writes an int8 ONNX graph (`export`). Seeded.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.chunk import split_sentences  # noqa: E402
from qa.embed.base import bundled_model_path  # noqa: E402
from qa.ingest import list_sources, read_transcript  # noqa: E402
from qa.sparse import tokenize  # noqa: E402

DEV2_FILES = {
    "2022-12-08-background-press-call-on-the-release-of-brittney-griner.md",
    "2023-01-23-on-the-record-press-call-by-white-house-spokesperson-ian-sams-2.md",
    "2023-11-16-remarks-by-president-biden-in-a-press-conference-woodside-ca.md",
}
ASKER = re.compile(r"^(?:Q|QUESTION|REPORTER)\b", re.I)
WINDOW = 3  # sentences per candidate window, as the reranker sees a quote with its neighbours
MAX_CHARS = 400


@dataclass(frozen=True)
class Pair:
    question: str
    passage: str
    label: float
    doc: str


def windows(text: str, start: int, end: int, wrapped: bool) -> list[str]:
    spans = split_sentences(text, start, end, wrapped)
    out = []
    for i in range(0, len(spans), WINDOW):
        part = spans[i : i + WINDOW]
        out.append(" ".join(text[s:e] for s, e in part)[:MAX_CHARS])
    return out


def question_text(text: str, start: int, end: int, wrapped: bool) -> str | None:
    """The asking part of a reporter's turn: its last sentence with a question mark (and the one
    before it when that one is short)."""
    spans = split_sentences(text, start, end, wrapped)
    asking = [i for i, (s, e) in enumerate(spans) if "?" in text[s:e]]
    if not asking:
        return None
    i = asking[-1]
    s, e = spans[i]
    q = text[s:e]
    if len(q.split()) < 8 and i > 0:
        q = text[spans[i - 1][0] : spans[i - 1][1]] + " " + q
    return q[:MAX_CHARS] if len(q.split()) >= 4 else None


def overlap(a: set[str], b: str) -> float:
    t = set(tokenize(b))
    return len(a & t) / (1 + len(t)) ** 0.5


def pairs_of(path: Path, root: Path, rng: random.Random, negatives: int) -> list[Pair]:
    t = read_transcript(path, root)
    turns = t.turns
    answers: list[tuple[int, list[str]]] = []
    for i, turn in enumerate(turns):
        if turn.speaker and not ASKER.match(turn.speaker):
            w = windows(t.text, turn.start, turn.end, t.wrapped)
            if w:
                answers.append((i, w))
    # The answer to a question runs until the next reporter's turn (an official may be cut in
    # on); none of it is a negative for that question.
    block = [0] * len(turns)
    for i in range(1, len(turns)):
        sp = turns[i].speaker
        block[i] = block[i - 1] + (1 if sp and ASKER.match(sp) else 0)
    out: list[Pair] = []
    for i, turn in enumerate(turns[:-1]):
        nxt = turns[i + 1]
        if not (turn.speaker and ASKER.match(turn.speaker)) or not nxt.speaker:
            continue
        if ASKER.match(nxt.speaker):
            continue
        q = question_text(t.text, turn.start, turn.end, t.wrapped)
        own = windows(t.text, nxt.start, nxt.end, t.wrapped)
        if q is None or not own or len(own[0].split()) < 6:
            continue
        out.append(Pair(q, own[0], 1.0, t.doc_id))
        others = [w for j, ws in answers if block[j] != block[i] for w in ws if len(w.split()) >= 6]
        if not others:
            continue
        qt = set(tokenize(q))
        close = sorted(others, key=lambda w: -overlap(qt, w))[: negatives // 2]
        rest = [w for w in others if w not in close]
        far = rng.sample(rest, min(len(rest), negatives - len(close)))
        out += [Pair(q, w, 0.0, t.doc_id) for w in close + far]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=ROOT / "corpora" / "train")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--negatives", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--max-length", type=int, default=160)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()

    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    files = [p for p in list_sources(args.source) if p.name not in DEV2_FILES]
    pairs = [p for f in files for p in pairs_of(f, args.source, rng, args.negatives)]
    docs = sorted({p.doc for p in pairs})
    check_docs = set(docs[:: max(1, len(docs) // 3)][:3])  # a few briefings to check on
    train = [p for p in pairs if p.doc not in check_docs]
    check = [p for p in pairs if p.doc in check_docs]
    print(
        f"{len(files)} files, {sum(p.label for p in pairs):.0f} questions,"
        f" {len(train)} training pairs, {len(check)} check pairs",
        flush=True,
    )
    baseline = bi_encoder_mrr(check)
    print(f"bi-encoder MRR on the check briefings: {baseline:.3f}", flush=True)
    model = CrossEncoder(str(bundled_model_path()), num_labels=1, max_length=args.max_length)
    t0 = time.perf_counter()
    fit(model, train, args)
    print(f"trained in {time.perf_counter() - t0:.0f} s", flush=True)
    report = {
        "check_mrr": mrr(model, check),
        "bi_encoder_check_mrr": baseline,
        "train_pairs": len(train),
        "args": vars(args),
    }
    report["args"] = {k: str(v) for k, v in report["args"].items()}
    print(json.dumps(report), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    export(model, args.out)
    (args.out / "training.json").write_text(json.dumps(report, indent=2) + "\n")


def export(model: object, out: Path) -> None:
    """An int8 ONNX graph of the cross-encoder (output `logits`) and the tokenizer beside it."""
    import shutil
    import tempfile
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    net = model.model.eval()  # type: ignore[attr-defined]
    net.config._attn_implementation = "eager"  # plain tensor ops for any mask when traced

    class Logits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits

    ids = torch.tensor([[101, 7592, 102, 2088, 102], [101, 7592, 102, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    types = torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Logits(net),
                (ids, mask, types),
                str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["logits"],
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "logits": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8)
    shutil.copy(bundled_model_path() / "tokenizer.json", out / "tokenizer.json")


def fit(model: object, train: list[Pair], args: argparse.Namespace) -> None:
    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits

    net = model.model  # type: ignore[attr-defined]
    tok = model.tokenizer  # type: ignore[attr-defined]
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(train) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
    )
    rng = random.Random(args.seed)
    step = 0
    for epoch in range(args.epochs):
        order = train[:]
        rng.shuffle(order)
        total = 0.0
        for b in range(0, len(order), args.batch):
            batch = order[b : b + args.batch]
            enc = tok(
                [p.question for p in batch],
                [p.passage for p in batch],
                truncation=True,
                max_length=args.max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = net(**enc).logits.view(-1)
            y = torch.tensor([p.label for p in batch])
            loss = binary_cross_entropy_with_logits(logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            total += float(loss.detach())
            step += 1
            if step % 20 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {total / 20:.3f}", flush=True)
                total = 0.0
    net.eval()


def bi_encoder_mrr(check: list[Pair]) -> float:
    """The same check scored by the bundled MiniLM's cosine: what the reranker must beat."""
    from qa.embed.factory import load_embedder
    from qa.settings import Settings

    emb = load_embedder(Settings())

    class Cosine:
        def predict(self, pairs: list[tuple[str, str]]) -> list[float]:
            v = emb.embed_batch([pairs[0][0]] + [p for _, p in pairs])
            return [float(x) for x in v[1:] @ v[0]]

    return mrr(Cosine(), check)


def mrr(model: object, check: list[Pair]) -> float:
    by_q: dict[str, list[Pair]] = {}
    for p in check:
        by_q.setdefault(p.question, []).append(p)
    rr = []
    for q, ps in by_q.items():
        scores = model.predict([(q, p.passage) for p in ps])  # type: ignore[attr-defined]
        order = sorted(range(len(ps)), key=lambda i: -float(scores[i]))
        rank = next(r for r, i in enumerate(order) if ps[i].label == 1.0)
        rr.append(1 / (rank + 1))
    return sum(rr) / max(1, len(rr))


if __name__ == "__main__":
    main()
