#!/usr/bin/env python
"""Issue 16 experiment: int8 for the auxiliary texts (contexts, sentences, questions) only.

    .venv/bin/python scripts/bench_int8_texts.py times seeds
    .venv/bin/python scripts/bench_int8_texts.py build seeds /tmp/idx-c c
    .venv/bin/qa eval tests/data/seed_qa_dev.jsonl --source seeds --index /tmp/idx-c

The int8 graph is `onnxruntime.quantization.quantize_dynamic` (QInt8 weights, per channel) of
the fp32 export qa uses (made by scripts/setup), written to a temporary folder.

- `times SOURCE`: per kind of text the documents under SOURCE give (chunks, interviewer
  questions, sentences, contexts), seconds to embed them with the fp32 and the int8 graph (two
  threads, qa's batching) and the cosine between the two vectors.
- `build SOURCE INDEX VARIANT`: an index whose chunks are embedded by fp32 and, by VARIANT,
  `c` contexts / `sc` sentences and contexts / `all` those and questions by int8; `p`: contexts
  made from sentence pairs (`QA_CHUNKING__CONTEXTS=pairs`, evaluate with it set), the pairs by
  int8. Its cache is its own, so nothing int8 reaches an fp32 index.

Results: docs/benchmarks-archive.md, section 0 (sessions 12 and 14).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qa.update as update
from qa.embed import export
from qa.embed.base import DIM, MODEL_NAME, bundled_model_path
from qa.embed.onnx import OnnxEmbedder
from qa.ingest import read_transcript
from qa.service import QAService
from qa.settings import ChunkingSettings, Settings


def graphs(tmp: Path) -> tuple[OnnxEmbedder, OnnxEmbedder]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = export.find_export(bundled_model_path(), Settings().onnx_dir)
    if fp32 is None:
        raise SystemExit("no fp32 export: run scripts/setup")
    int8 = tmp / "model-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    tok = bundled_model_path()
    return (
        OnnxEmbedder(onnx_path=fp32, tokenizer_dir=tok, threads=2, backend="onnx-fp32"),
        OnnxEmbedder(onnx_path=int8, tokenizer_dir=tok, threads=2, backend="onnx-fp32"),
    )


def documents(source: Path, settings: Settings) -> list[update._Chunked]:
    out = []
    for f in sorted(source.iterdir()):
        if not f.is_file() or f.name.startswith(("SOURCE", ".")) or f.suffix == ".json":
            continue
        doc = read_transcript(f, source)
        out.append(update.chunk_document(doc.doc_id, doc.text, settings.chunking, doc))
    return out


def times(source: Path) -> None:
    settings = Settings()
    docs = documents(source, settings)
    chunk_texts = {c.text for d in docs for c in d.chunks}
    kinds = {
        "chunks": sorted(chunk_texts),
        # A question equal to a chunk's text is embedded once, as the chunk.
        "questions": sorted({q for d in docs for q, _ in d.questions} - chunk_texts),
        "sentences": [t for d in docs for t in d.sentence_texts],
        "contexts": [t for d in docs for t in d.contexts],
        "pairs": [
            t
            for d in documents(source, Settings(chunking=ChunkingSettings(contexts="pairs")))
            for t in d.contexts
        ],
    }
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = graphs(Path(tmp))
        fp32.embed(kinds["sentences"][:64])
        int8.embed(kinds["sentences"][:64])
        for kind, texts in kinds.items():
            row = [kind, str(len(texts))]
            vecs = []
            for model in (fp32, int8):
                t = time.perf_counter()
                vecs.append(model.embed(texts))
                row.append(f"{time.perf_counter() - t:.2f} s")
            cos = (vecs[0] * vecs[1]).sum(axis=1)
            row.append(f"cos mean {cos.mean():.4f}, 1st pct {np.percentile(cos, 1):.4f}")
            print(" | ".join(row))


def build(source: Path, index: Path, variant: str) -> None:
    settings = Settings(
        source_dir=source,
        index_dir=index,
        reload_interval=-1,
        embed_threads=2,
        chunking=ChunkingSettings(contexts="pairs" if variant == "p" else "embedded"),
    )
    fp32_texts: set[str] = set()
    for d in documents(source, settings):
        fp32_texts |= {c.text for c in d.chunks}
        if variant in ("c", "sc", "p"):
            fp32_texts |= {q for q, _ in d.questions}
        if variant in ("c", "p"):
            fp32_texts |= set(d.sentence_texts)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = graphs(Path(tmp))

        class Routed:
            name, dim, backend = MODEL_NAME, DIM, "onnx-fp32"

            def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
                return self.embed(texts)

            def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
                out = np.zeros((len(texts), DIM), dtype=np.float32)
                mine = [i for i, t in enumerate(texts) if t in fp32_texts]
                rest = [i for i, t in enumerate(texts) if t not in fp32_texts]
                if mine:
                    out[mine] = fp32.embed([texts[i] for i in mine], batch_size)
                if rest:
                    out[rest] = int8.embed([texts[i] for i in rest], batch_size)
                return out

        update.cache_model = lambda emb: f"{MODEL_NAME}+int8-{variant}"  # type: ignore[assignment]
        t = time.perf_counter()
        QAService(settings, embedder=Routed()).build()  # type: ignore[arg-type]
        print(f"built {index} in {time.perf_counter() - t:.1f} s")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "times":
        times(Path(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "build" and sys.argv[4] in ("c", "sc", "all", "p"):
        build(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
