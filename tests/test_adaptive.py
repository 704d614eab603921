"""Query-adaptive retrieval (sdsearch.query and the Retriever's use of it)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sdsearch.analysis import Analyzer
from sdsearch.config import Settings
from sdsearch.query import BOILERPLATE, SpellIndex, correct, plan, profile, rm3_expansion, subquestions
from sdsearch.retrieve import Retriever
from sdsearch.store import open_index

from conftest import FakeEncoder

LONG = (
    "In de regionale media verscheen onlangs dat Vlaardingen een complete woonwijk heeft neergezet voor "
    "mensen die uit Oekraïne zijn gevlucht. Kan het college aangeven hoeveel tijdelijke woningen daar zijn "
    "geplaatst? Welke onderwijsvoorzieningen zijn in die wijk beschikbaar voor de kinderen?"
)
OFF = dict(
    adaptive=True, dense_weight_long=0.4, subquestion_weight=0.0, prf_weight=0.0, spell_correct=False, abbrev_weight=0.0,
    long_min_idf=0.0, unmatched_dense=0.0,
)


@pytest.fixture
def retriever(small_index: Path, fake_encoder: FakeEncoder) -> Retriever:
    return Retriever(open_index(small_index), fake_encoder)


class Vocab:
    def __init__(self, df: dict[str, int]):
        self.df = df

    def __contains__(self, term: str) -> bool:
        return term in self.df

    def document_frequency(self, term: str) -> int:
        return self.df.get(term, 0)


def test_profile_and_kind() -> None:
    a, s = Analyzer(), Settings()
    long = profile(LONG, a)
    assert long.kind(s) == "long" and long.questions == 2 and long.has_name
    assert profile("mrija", a).kind(s) == "short"
    assert profile("hoeveel flexwoningen heeft Mrija?", a).kind(s) == "normal"
    assert profile("1350 bijstand", a).has_number
    assert not profile("Beschermd wonen in de regio", a).has_name  # capital only at the start


def test_subquestions_split_only_multi_part_questions() -> None:
    qs = subquestions(LONG)
    assert len(qs) == 2 and all(q.endswith("?") for q in qs)
    assert qs[1].startswith("Welke onderwijsvoorzieningen")
    assert subquestions("Hoeveel flexwoningen heeft Mrija?") == ()
    assert subquestions("") == ()


def test_spelling_correction_finds_one_edit_and_swaps() -> None:
    a = Analyzer()
    vocab = Vocab({"jeugdzorg": 12, "mantelzorg": 7, "mrija": 2, "jeugd": 30, "zorg": 40})
    spell = SpellIndex(list(vocab.df))
    assert spell.candidates("jeugdzrog") == {"jeugdzorg"}  # neighbours swapped
    assert spell.candidates("mrja") == {"mrija"}  # a letter dropped
    assert spell.candidates("mantelzorgg") == {"mantelzorg"}  # a letter doubled
    terms, fixed = correct(["jeugdzrog", "zorg"], vocab, spell, a)
    assert fixed == [("jeugdzrog", "jeugdzorg")]
    assert "jeugdzorg" in terms and terms[-1] == "zorg"
    # Known terms, numbers and short terms are left alone.
    assert correct(["zorg", "1350", "bw"], vocab, spell, a) == (["zorg", "1350", "bw"], [])


def test_rm3_expansion_weights_sum_to_one_and_follow_scores() -> None:
    exp = rm3_expansion([(["wijk", "flexwoning", "wijk"], 3.0), (["opvang", "wijk"], 1.0)], 2)
    assert list(exp)[0] == "wijk" and abs(sum(exp.values()) - 1) < 1e-9 and len(exp) == 2
    assert rm3_expansion([], 5) == {} and rm3_expansion([(["a"], 0.0)], 5) == {}
    assert "wijk" not in rm3_expansion([(["wijk", "opvang"], 1.0)], 5, exclude={"wijk"})


def test_plan_adapts_to_the_query_and_switches_off() -> None:
    a, s = Analyzer(), Settings()
    p = plan(LONG, a, s)
    assert p.kind == "long" and p.dense_weight == s.dense_weight_long and len(p.subquestions) == 2
    assert plan("mrija", a, s).dense_weight == s.dense_weight_short
    off = plan(LONG, a, replace(s, adaptive=False))
    assert off.dense_weight == s.dense_weight and off.subquestions == ()
    assert sum(off.terms.values()) == len(a.terms(LONG))  # plain BM25 terms, repeats counted
    boiler = plan(LONG + " inwoners van de gemeente", a, replace(s, long_boilerplate=True))
    assert BOILERPLATE.isdisjoint(boiler.terms)


def test_defaults_keep_the_measured_parts() -> None:
    s = Settings()
    assert s.adaptive and s.dense_weight_long == 0.2 and s.prf_weight == 0.2 and s.subquestion_weight == 0.5
    assert s.spell_correct and not s.long_boilerplate and s.dense_weight_short == s.dense_weight


def test_adaptive_off_is_the_old_ranking(retriever: Retriever) -> None:
    queries = ["beschermd wonen", LONG, "mrja", "Hoeveel mensen in Velsen ontvingen een bijstandsuitkering?"]
    retriever.settings = Settings(adaptive=False)
    old = retriever.search(queries)
    retriever.settings = Settings(**OFF)
    same = retriever.search(queries)
    assert [[h.passage_id for h in hs] for hs in old] == [[h.passage_id for h in hs] for hs in same]
    assert [[round(h.score, 9) for h in hs] for hs in old] == [[round(h.score, 9) for h in hs] for hs in same]


def test_typo_finds_the_passage_in_sparse_mode(retriever: Retriever) -> None:
    retriever.settings = Settings(spell_correct=False)
    assert retriever.search(["mrjia"], mode="sparse")[0] == []
    retriever.settings = Settings()
    hits = retriever.search(["mrjia"], mode="sparse")[0]
    assert hits and "Mrija" in hits[0].text


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_long_question_runs_every_part_in_every_mode(retriever: Retriever, mode: str) -> None:
    retriever.settings = Settings(prf_weight=0.5, subquestion_weight=1.0, long_boilerplate=True)
    hits = retriever.search([LONG, "mrija"], mode=mode)
    assert all(hs for hs in hits)
    assert len({h.passage_id for h in hits[0]}) == len(hits[0])  # no passage twice
    if mode != "dense":
        assert "Mrija" in hits[0][0].text or "flexwoningen" in hits[0][0].text


def test_batch_equals_single_with_subquestions(retriever: Retriever) -> None:
    qs = [LONG, "beschermd wonen", LONG.replace("Vlaardingen", "Velsen")]
    batch = retriever.search(qs)
    single = [retriever.search([q])[0] for q in qs]
    assert [[h.passage_id for h in hs] for hs in batch] == [[h.passage_id for h in hs] for hs in single]


def test_weighted_bm25_equals_plain_bm25_for_integer_weights(retriever: Retriever) -> None:
    import numpy as np

    sp = retriever.index.sparse
    terms = retriever.analyzer.terms("beschermd wonen wonen")
    plain = sp.scores(terms)
    weighted = sp.weighted_scores({t: float(terms.count(t)) + 1e-12 for t in set(terms)}, None)
    assert plain is not None and weighted is not None
    assert np.allclose(plain, weighted, atol=1e-6)


def test_feedback_reuses_the_first_sum_and_ranks_as_the_mixed_query(retriever: Retriever) -> None:
    """RM3 with the question's own sum kept: the same passages, in the same order, with the
    same scores (to float32 rounding) as searching the mixed query from scratch."""
    sp = retriever.index.sparse
    terms = {t: 1.0 for t in retriever.analyzer.terms("flexwoningen opvang Oekraïense ontheemden wijk")}
    seen: list[list[int]] = []

    def expand(top: list[tuple[int, float]]) -> dict[str, float]:
        seen.append([i for i, _ in top])
        return rm3_expansion([(retriever._passage_terms(i), sc) for i, sc in top], 10)

    got = sp.top_feedback(terms, 8, 3, expand, 0.2)
    first = sp.top_weighted(terms, 8)
    assert seen == [[i for i, _ in first[:3]]]  # the feedback passages: the first search's top 3
    expansion = expand(first[:3])
    z = sum(terms.values())
    mixed = {t: 0.8 * w / z for t, w in terms.items()}
    for t, w in expansion.items():
        mixed[t] = mixed.get(t, 0.0) + 0.2 * w
    ref = sp.top_weighted(mixed, 8)
    assert [i for i, _ in got] == [i for i, _ in ref]
    assert [s for _, s in got] == pytest.approx([s for _, s in ref], rel=1e-5)
    # No expansion term: the first ranking as it is.
    assert sp.top_feedback(terms, 8, 3, lambda top: {}, 0.2) == first


def test_long_question_leaves_out_common_terms(retriever: Retriever) -> None:
    """long_min_idf: a long question's BM25 reads only terms under the idf bar's document
    share; a question made only of common terms keeps them all."""
    sp = retriever.index.sparse
    asked: list[dict[str, float]] = []
    inner = sp.weighted_scores

    def spy(terms, mask=None):  # type: ignore[no-untyped-def]
        asked.append(dict(terms))
        return inner(terms, mask)

    sp.weighted_scores = spy  # type: ignore[method-assign]
    try:
        p = retriever.plan(LONG)
        idfs = sorted({sp.idf(t) for t in p.terms if t in sp})
        bar = (idfs[0] + idfs[-1]) / 2  # a small index: its own bar between the question's terms
        common = {t for t in p.terms if sp.idf(t) < bar}
        assert common and {t for t in p.terms if t in sp} - common  # the question holds both kinds
        retriever.settings = Settings(prf_weight=0.0, long_min_idf=bar)
        retriever.sparse_planned(p, 10, None)
        retriever.settings = Settings(prf_weight=0.0, long_min_idf=0.0)
        retriever.sparse_planned(p, 10, None)
        retriever.settings = Settings(prf_weight=0.0, long_min_idf=50.0)  # every term under the bar
        retriever.sparse_planned(p, 10, None)
    finally:
        del sp.weighted_scores
    assert asked[0] == {t: w for t, w in p.terms.items() if t not in common}
    assert asked[1] == p.terms and asked[2] == p.terms


def test_subquestions_get_no_feedback_of_their_own_by_default(retriever: Retriever) -> None:
    calls: list[bool] = []
    inner = retriever.sparse_planned

    def spy(p, n, mask, feedback=True):  # type: ignore[no-untyped-def]
        calls.append(feedback)
        return inner(p, n, mask, feedback)

    retriever.sparse_planned = spy  # type: ignore[method-assign]
    retriever.search([LONG])
    assert calls == [True, False, False]  # the whole question, then its two sub-questions
    calls.clear()
    retriever.settings = Settings(subquestion_prf=True)
    retriever.search([LONG])
    assert calls == [True, True, True]


def test_long_min_idf_must_not_be_negative() -> None:
    from sdsearch.errors import ConfigError

    with pytest.raises(ConfigError, match="long_min_idf"):
        Settings(long_min_idf=-1.0).validate()
    Settings(long_min_idf=0.0).validate()


def test_a_long_question_in_other_words_leans_on_the_vectors(retriever: Retriever) -> None:
    """unmatched_dense: the dense weight grows with the share of the question's idf-weighted
    BM25 terms that the best of the dense side's top 3 passages lacks; a question whose words
    such a passage holds keeps its weight; short and normal queries are not touched."""
    sp = retriever.index.sparse
    p = retriever.plan(LONG)
    best = retriever.sparse_planned(p, 5, None)[0][0]
    share = retriever._matched_share(p.terms, best)
    assert 0.0 < share < 1.0
    held = {t: 1.0 for t in retriever._passage_terms(best) if t in sp}
    assert retriever._matched_share(held, best) == 1.0
    weights: list[float] = []
    inner = retriever._fuse

    def spy(query, dense, sparse, mode, dense_weight=None, sub_scores=()):  # type: ignore[no-untyped-def]
        weights.append(dense_weight)
        return inner(query, dense, sparse, mode, dense_weight=dense_weight, sub_scores=sub_scores)

    shares: list[tuple[int, float]] = []
    measure = retriever._matched_share

    def record(terms, row):  # type: ignore[no-untyped-def]
        shares.append((row, measure(terms, row)))
        return shares[-1][1]

    retriever._fuse = spy  # type: ignore[method-assign]
    retriever._matched_share = record  # type: ignore[method-assign]
    for setting in (0.0, 0.4):
        retriever.settings = Settings(unmatched_dense=setting)
        retriever.search([LONG, "beschermd wonen"])
    base = Settings().dense_weight_long
    assert len({row for row, _ in shares}) == 3  # the dense side's top 3, for the long question only
    assert weights[0] == base and weights[2] == pytest.approx(min(1.0, base + 0.4 * (1 - max(v for _, v in shares))))
    assert weights[2] > base
    assert weights[1] == weights[3]  # a normal query keeps its weight
    assert Settings().unmatched_dense == 0.4


def test_on_a_large_index_sub_questions_score_the_found_passages(retriever: Retriever) -> None:
    """subquestion_rescore_from: from that index size a sub-question's vector scores, exactly,
    the passages the whole question's searches and its own BM25 found, instead of searching
    the vector index; below it (the default on any index under 2M passages) nothing changes."""
    import numpy as np

    n = len(retriever.index)
    searched: list[int] = []
    inner_dense = retriever.dense

    def spy_dense(qvecs, k, mask):  # type: ignore[no-untyped-def]
        searched.append(len(qvecs))
        return inner_dense(qvecs, k, mask)

    retriever.dense = spy_dense  # type: ignore[method-assign]
    retriever.settings = Settings()
    default = retriever.search([LONG], k=10)[0]
    retriever.settings = Settings(subquestion_rescore_from=0)
    never = retriever.search([LONG], k=10)[0]
    assert searched == [3, 3]  # the question and its two sub-questions each search the index
    assert [(h.passage.passage_id, h.score) for h in default] == [(h.passage.passage_id, h.score) for h in never]

    searched.clear()
    got: list[tuple[set[int], list[tuple[int, float]]]] = []
    inner_among = retriever._dense_among

    def spy_among(qvec, rows, k):  # type: ignore[no-untyped-def]
        out = inner_among(qvec, rows, k)
        got.append((set(rows), out))
        return out

    retriever._dense_among = spy_among  # type: ignore[method-assign]
    retriever.settings = Settings(subquestion_rescore_from=n)
    hits = retriever.search([LONG], k=10)[0]
    assert searched == [1] and len(got) == 2 and hits  # only the whole question searched the index
    vecs = retriever.encoder.encode_queries(list(retriever.plan(LONG).subquestions))
    for (rows, out), vec in zip(got, vecs, strict=True):
        ids = sorted(rows)
        exact = np.asarray(retriever.index.vectors[ids], dtype=np.float32) @ np.asarray(vec, dtype=np.float32)
        want = sorted(zip(ids, exact.tolist(), strict=True), key=lambda x: (-x[1], x[0]))[:len(out)]
        assert [r for r, _ in out] == [r for r, _ in want]
        assert [s for _, s in out] == pytest.approx([s for _, s in want], abs=1e-6)
    from sdsearch.errors import ConfigError

    with pytest.raises(ConfigError, match="subquestion_rescore_from"):
        Settings(subquestion_rescore_from=-1).validate()
