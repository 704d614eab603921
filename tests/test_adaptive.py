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
OFF = dict(adaptive=True, dense_weight_long=0.4, subquestion_weight=0.0, prf_weight=0.0, spell_correct=False, abbrev_weight=0.0)


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
