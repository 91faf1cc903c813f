"""qa.sparse: BM25 over several groups' postings scores like one bm25s index over all chunks."""

from __future__ import annotations

import numpy as np
import pytest

from qa.models import Chunk
from qa.sparse import GroupedBM25, Postings, SparseIndex, tokenize
from qa.store import groups
from qa.store.segment import DocPart

WORDS = ["mars", "rocket", "engine", "battery", "factory", "robot", "salt", "water", "moon"]


def part(rng: np.random.Generator, doc: str, n: int) -> DocPart:
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(0, 12))) for _ in range(n)]
    chunks = tuple(Chunk(i, doc, "Guest", 0, 0, 0, 0, t, i) for i, t in enumerate(texts))
    empty = np.zeros((0, 4), np.float32)
    return DocPart(
        doc_id=doc,
        sha256=doc,
        chunks=chunks,
        sentences=(),
        sentence_texts=(),
        chunk_vectors=np.zeros((n, 4), np.float32),
        sentence_vectors=empty,
        context_vectors=empty,
        question_chunks=(),
        question_vectors=empty,
        tokens=tuple(tokenize(t) for t in texts),
    )


@pytest.mark.parametrize("split", [[30], [12, 1, 17], [5, 5, 5, 5, 10]])
def test_grouped_scores_equal_one_bm25s_index(split: list[int]) -> None:
    rng = np.random.default_rng(len(split))
    parts = [part(rng, f"d{i}", n) for i, n in enumerate(split)]
    whole = SparseIndex.from_tokens([t for p in parts for t in p.tokens])
    postings = []
    row = 0
    for p in parts:  # one group per part, its rows at the part's global ids
        built = groups.build([(p.doc_id, p)], 4, {p.doc_id: (0, 0, "<f2")})
        a = built["arrays"]
        vocab = {t: i for i, t in enumerate(built["meta"]["vocab"])}
        to_global = np.arange(row, row + len(p.chunks))
        postings.append(
            Postings(vocab, a["post_ptr"], a["post_rows"], a["post_tf"], a["doclen"], to_global)
        )
        row += len(p.chunks)
    grouped = GroupedBM25(postings, row)
    for query in ("mars rocket", "salt bacteria water water", "orbit", "nothing here", ""):
        np.testing.assert_allclose(grouped.scores(query), whole.scores(query), rtol=1e-5, atol=1e-6)
    for term in [*(tokenize(" ".join(WORDS))), "orbit"]:
        held = sum(term in t for p in parts for t in p.tokens)
        assert grouped.document_frequency(term) == whole.document_frequency(term) == held


def reference_scores(postings: list[Postings], size: int, query: str) -> np.ndarray:
    """BM25 as first written here: every posting's tf part computed in full, added per term."""
    k1, b = 1.5, 0.75
    avg = np.float64(sum(p.length for p in postings) / size)
    out = np.zeros(size, dtype=np.float32)
    for term in tokenize(query):
        found = [(p, p.vocab[term]) for p in postings if term in p.vocab]
        df = sum(int(p.ptr[t + 1] - p.ptr[t]) for p, t in found)
        if not df:
            continue
        idf = np.float32(np.log(1 + (size - df + 0.5) / (df + 0.5)))
        for p, t in found:
            rows = np.asarray(p.rows[p.ptr[t] : p.ptr[t + 1]])
            tf = np.asarray(p.tf[p.ptr[t] : p.ptr[t + 1]], dtype=np.float32)
            tfc = tf / (k1 * ((1 - b) + b * np.asarray(p.doclen[rows]) / avg) + tf)
            out[p.to_global[rows]] += (idf * tfc).astype(np.float32)
    return out


def test_grouped_scores_bit_for_bit_with_groups_out_of_version_order() -> None:
    """A group whose segments are not one run of the version's ids (a group over d0 and d2, the
    version d0, d1, d2) scores through its id map; every score is the same float32 as the
    formula evaluated posting by posting, and as one bm25s index over the version."""
    rng = np.random.default_rng(7)
    parts = [part(rng, f"d{i}", n) for i, n in enumerate([9, 6, 11])]
    whole = SparseIndex.from_tokens([t for p in parts for t in p.tokens])
    starts = [0, 9, 15, 26]
    postings = []
    for members in ([0, 2], [1]):
        built = groups.build([(parts[i].doc_id, parts[i]) for i in members], 4, {
            parts[i].doc_id: (0, 0, "<f2") for i in members
        })  # fmt: skip
        a = built["arrays"]
        vocab = {t: i for i, t in enumerate(built["meta"]["vocab"])}
        to_global = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in members])
        postings.append(
            Postings(vocab, a["post_ptr"], a["post_rows"], a["post_tf"], a["doclen"], to_global)
        )
    assert postings[0].offset is None and postings[1].offset == 9
    grouped = GroupedBM25(postings, 26)
    for query in ("mars rocket", "salt water water moon", "robot factory battery engine", "x"):
        got = grouped.scores(query)
        np.testing.assert_array_equal(got, reference_scores(postings, 26, query))
        np.testing.assert_allclose(got, whole.scores(query), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kept", [0, 12, 10_000])
def test_kept_term_scores_are_the_same(monkeypatch: pytest.MonkeyPatch, kept: int) -> None:
    """A version keeps recent terms' scores (none, a few postings' worth, all): asking again,
    after others pushed them out or not, scores the same."""
    import qa.sparse

    monkeypatch.setattr(qa.sparse, "TERM_CACHE", kept)
    rng = np.random.default_rng(3)
    parts = [part(rng, f"d{i}", n) for i, n in enumerate([20, 7])]
    postings = []
    row = 0
    for p in parts:
        built = groups.build([(p.doc_id, p)], 4, {p.doc_id: (0, 0, "<f2")})
        a = built["arrays"]
        vocab = {t: i for i, t in enumerate(built["meta"]["vocab"])}
        to_global = np.arange(row, row + len(p.chunks))
        postings.append(
            Postings(vocab, a["post_ptr"], a["post_rows"], a["post_tf"], a["doclen"], to_global)
        )
        row += len(p.chunks)
    grouped = GroupedBM25(postings, row)
    queries = ["mars rocket", "salt water", "mars mars moon", "robot engine", "rocket salt"] * 3
    for query in queries:
        np.testing.assert_array_equal(grouped.scores(query), reference_scores(postings, row, query))


@pytest.mark.parametrize("removed", [[1], [0, 3], [4]])
def test_a_group_with_holes_scores_as_if_its_removed_rows_were_never_there(
    removed: list[int],
) -> None:
    """A group over d0..d4 whose segments `removed` left the version (a document changed or
    deleted, qa.store.groups): N, the average length and every df leave their rows out, they
    score nothing, and every score is the same float32 as a group built over the version's
    documents alone, and as one bm25s index over them."""
    rng = np.random.default_rng(11)
    parts = [part(rng, f"d{i}", n) for i, n in enumerate([9, 6, 11, 4, 8])]
    built = groups.build([(p.doc_id, p) for p in parts], 4, {
        p.doc_id: (0, 0, "<f2") for p in parts
    })  # fmt: skip
    a = built["arrays"]
    vocab = {t: i for i, t in enumerate(built["meta"]["vocab"])}
    here = [i not in removed for i in range(len(parts))]
    keep = np.repeat(here, [len(p.chunks) for p in parts])
    to_global = np.where(keep, np.cumsum(keep) - 1, -1)
    size = int(keep.sum())
    holed = GroupedBM25(
        [
            Postings(
                vocab, a["post_ptr"], a["post_rows"], a["post_tf"], a["doclen"], to_global, keep
            )
        ],
        size,
    )
    left = [p for p, h in zip(parts, here, strict=True) if h]
    fresh_built = groups.build([(p.doc_id, p) for p in left], 4, {
        p.doc_id: (0, 0, "<f2") for p in left
    })  # fmt: skip
    f = fresh_built["arrays"]
    fresh = GroupedBM25(
        [
            Postings(
                {t: i for i, t in enumerate(fresh_built["meta"]["vocab"])},
                f["post_ptr"],
                f["post_rows"],
                f["post_tf"],
                f["doclen"],
                np.arange(size),
            )
        ],
        size,
    )
    whole = SparseIndex.from_tokens([t for p in left for t in p.tokens])
    for query in ("mars rocket", "salt water water moon", "robot factory battery engine", "x"):
        got = holed.scores(query)
        assert len(got) == size
        np.testing.assert_array_equal(got, fresh.scores(query))
        np.testing.assert_array_equal(got, whole.scores(query))
    for term in [*(tokenize(" ".join(WORDS))), "orbit"]:
        held = sum(term in t for p in left for t in p.tokens)
        assert holed.document_frequency(term) == whole.document_frequency(term) == held


@pytest.mark.parametrize("runs_max", [256, 1])
def test_holes_in_a_group_out_of_version_order_score_as_one_index(
    monkeypatch: pytest.MonkeyPatch, runs_max: int
) -> None:
    """Version d0, d1 (changed: its new part in another group), d2, d3, d4; one group holds d3,
    d4, d0 and the old d1 (a hole), the other the new d1 and d2: runs of rows with their own
    offsets (one negative), cut by the hole, or (`runs_max` 1) every posting looked up. Scores
    bit for bit one bm25s index over the version's chunks."""
    import qa.sparse

    monkeypatch.setattr(qa.sparse, "RUNS_MAX", runs_max)
    rng = np.random.default_rng(5)
    sizes = {"d0": 7, "d1": 5, "d2": 9, "d3": 6, "d4": 8}
    parts = {d: part(rng, d, n) for d, n in sizes.items()}
    new_d1 = part(rng, "d1", 4)
    version = [parts["d0"], new_d1, parts["d2"], parts["d3"], parts["d4"]]
    starts = dict(
        zip(["d0", "d1", "d2", "d3", "d4"], np.cumsum([0, 7, 4, 9, 6]).tolist(), strict=True)
    )
    postings = []
    for members in ([("d3", parts["d3"]), ("d4", parts["d4"]), ("d0", parts["d0"]), ("old", parts["d1"])],
                    [("d1", new_d1), ("d2", parts["d2"])]):  # fmt: skip
        built = groups.build(members, 4, {d: (0, 0, "<f2") for d, _ in members})
        a = built["arrays"]
        vocab = {t: i for i, t in enumerate(built["meta"]["vocab"])}
        ids = [
            np.full(len(p.chunks), -1) if d == "old" else starts[d] + np.arange(len(p.chunks))
            for d, p in members
        ]
        to_global = np.concatenate(ids)
        keep = None if (to_global >= 0).all() else to_global >= 0
        postings.append(
            Postings(
                vocab, a["post_ptr"], a["post_rows"], a["post_tf"], a["doclen"], to_global, keep
            )
        )
    assert postings[0].offset is None
    size = sum(len(p.chunks) for p in version)
    grouped = GroupedBM25(postings, size)
    whole = SparseIndex.from_tokens([t for p in version for t in p.tokens])
    for query in ("mars rocket", "salt water water moon", "robot factory battery engine", "x"):
        np.testing.assert_array_equal(grouped.scores(query), whole.scores(query))
    for term in tokenize(" ".join(WORDS)):
        assert grouped.document_frequency(term) == whole.document_frequency(term)
