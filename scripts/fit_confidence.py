#!/usr/bin/env python3
"""Fit `Answer.confidence` (QA_ANSWER__CALIBRATION__*) on dev sets: a logistic regression of
"the first quote is right" on the first quote's score, its lead over the second and whether it
failed a coverage check (qa.coverage). Dev sets only: never a held-out set.

    .venv/bin/python scripts/fit_confidence.py \
        --set tests/data/seed_qa_dev.jsonl seeds /tmp/seeds-index \
        --set eval/real_qa.jsonl corpora/real /tmp/real-index

Builds an index where one is missing; prints the fitted values (paste them into
qa/settings.py, CalibrationSettings) and the reliability table before and after.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa.evaluate import eval_seedqa, reliability
from qa.service import QAService
from qa.settings import AnswerSettings, CalibrationSettings, Settings

FEATURES = ("score", "margin", "failed")


def features(row: dict[str, object], lone_margin: float) -> list[float] | None:
    scores = row["scores"]
    assert isinstance(scores, list)
    if not scores:  # not found: nothing shown, confidence is capped
        return None
    top = float(scores[0])
    second = float(scores[1]) if len(scores) > 1 else top - lone_margin
    return [top, top - second, float(row["coverage"] == "related")]


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> np.ndarray:
    """Newton's method on the L2-penalised logistic loss; weights[0] is the bias."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[0, 0] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + reg @ w
        hess = xb.T @ (xb * (p * (1 - p))[:, None]) + reg
        w -= np.linalg.solve(hess, grad)
    return w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--set", nargs=3, action="append", metavar=("GOLD", "SOURCE", "INDEX"))
    ap.add_argument("--l2", type=float, default=1.0)
    args = ap.parse_args()
    xs: list[list[float]] = []
    ys: list[float] = []
    before: list[tuple[float, bool]] = []
    lone = AnswerSettings().lone_margin
    for gold, source, index in args.set:
        svc = QAService(Settings(source_dir=Path(source), index_dir=Path(index)))
        if not (Path(index) / "CURRENT").exists():
            svc.build()
        report = eval_seedqa(svc, Path(gold), Path(source))
        for row in report["per_question"]:
            ok = bool(row.get("hit@1"))
            before.append((row["confidence"], ok))
            f = features(row, lone)
            if f is not None:
                xs.append(f)
                ys.append(float(ok))
    w = fit(np.array(xs), np.array(ys), args.l2)
    cal = CalibrationSettings(**{"bias": w[0], **dict(zip(FEATURES, w[1:], strict=True))})
    after = []
    for x, y in zip(xs, ys, strict=True):
        z = w[0] + float(np.dot(w[1:], x))
        after.append((1 / (1 + np.exp(-z)), bool(y)))
    print(json.dumps({k: round(v, 3) for k, v in cal.model_dump().items()}))
    print("before", json.dumps(reliability(before)))
    print("after (answered and related only)", json.dumps(reliability(after)))


if __name__ == "__main__":
    main()
