"""The PostgreSQL backend answers as the files backend does (#17): the same index, moved with
`qa db import` (nothing embedded twice), measured on both in one run with the real model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qa.errors import InvalidInput
from qa.evaluate import eval_beir, eval_seedqa
from qa.service import QAService
from qa.settings import Settings

if TYPE_CHECKING:
    from conftest import Built

pytestmark = pytest.mark.slow

DEV = Path(__file__).resolve().parent / "data" / "seed_qa_dev.jsonl"
# The bound: the database backend within 0.01 of the files backend on every figure.
TOLERANCE = 0.01
FIGURES = (
    "quote_hit@1",
    "quote_hit@3",
    "passage_recall@5",
    "speaker_match",
    "refusal_rate_unanswerable",
    "false_refusal_rate",
)


def test_the_dev_set_scores_the_same_on_postgresql(seeded: Built, pg_url: str) -> None:
    database = QAService(
        Settings(source_dir=seeded.source, store=pg_url), embedder=seeded.service.embedder
    )
    database.import_index(seeded.index)
    files = eval_seedqa(seeded.service, DEV, seeded.source)
    pg = eval_seedqa(database, DEV, seeded.source)
    print("\n" + "\n".join(f"{f:28} files {files[f]}  postgresql {pg[f]}" for f in FIGURES))
    assert pg["quote_integrity"] == 1.0 and pg["quotes_checked"] > 0
    for figure in FIGURES:
        assert abs(pg[figure] - files[figure]) <= TOLERANCE, (figure, files[figure], pg[figure])
    # Stronger than the aggregate: every question gets the same verdict on both backends.
    keys = ("id", "hit@1", "hit@3", "coverage")
    verdicts = [tuple(p.get(k) for k in keys) for p in files["per_question"]]
    assert verdicts == [tuple(p.get(k) for k in keys) for p in pg["per_question"]]


def _beir(folder: Path) -> Path:
    """A small BEIR folder: eight short documents, four queries with graded relevance."""
    docs = {
        "d1": ("Tidal power", "Tidal turbines in the strait produce power twice a day."),
        "d2": ("Solar farms", "The desert solar farm doubled its output after cleaning robots."),
        "d3": ("Wind", "Offshore wind turbines stop when gusts pass ninety kilometres an hour."),
        "d4": ("Bees", "Honey bees navigate by the angle of the sun and a waggle dance."),
        "d5": ("Ants", "Leafcutter ants farm a fungus on the leaves they carry home."),
        "d6": (
            "Glaciers",
            "The glacier retreated four hundred metres in a decade of warm summers.",
        ),
        "d7": ("Coral", "Coral bleaching follows weeks of sea water above the usual maximum."),
        "d8": ("Rivers", "The river delta grows each year from silt carried in the floods."),
    }
    folder.mkdir()
    (folder / "qrels").mkdir()
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in docs.items()),
        encoding="utf-8",
    )
    queries = {
        "q1": "How do bees find their way?",
        "q2": "Why do offshore turbines shut down?",
        "q3": "What happens to coral in hot water?",
        "q4": "energy from the sea",
    }
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items()),
        encoding="utf-8",
    )
    qrels = ["query-id\tcorpus-id\tscore", "q1\td4\t1", "q2\td3\t1", "q3\td7\t1", "q4\td1\t2"]
    qrels.append("q4\td3\t1")
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    return folder


def test_beir_with_a_database_measures_both_backends_in_one_run(
    tmp_path: Path, pg_url: str, seeded: Built
) -> None:
    folder = _beir(tmp_path / "tiny")
    settings = Settings(store=pg_url)
    report = eval_beir(
        folder, settings=settings, embedder=seeded.service.embedder, service_type=QAService
    )
    assert set(report["modes"]) == set(report["postgresql"]) == {"dense", "bm25", "hybrid"}
    for mode, files in report["modes"].items():
        pg = report["postgresql"][mode]
        for metric in ("ndcg@10", "recall@10", "recall@100", "mrr@10"):
            assert abs(pg[metric] - files[metric]) <= TOLERANCE, (mode, metric, files, pg)
    assert report["modes"]["hybrid"]["ndcg@10"] > 0.5  # the model found the documents
    # The database now holds the benchmark's index: a second run refuses to import over it.
    with pytest.raises(InvalidInput, match="already holds an index"):
        eval_beir(
            folder, settings=settings, embedder=seeded.service.embedder, service_type=QAService
        )
