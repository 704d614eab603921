"""Ranking logic with a fake encoder: modes, fusion, filters before top-k, de-duplication."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdsearch.errors import FilterError
from sdsearch.retrieve import Filters, QueryError, Retriever, rrf, weighted_sum
from sdsearch.store import open_index

from conftest import FakeEncoder


@pytest.fixture
def retriever(small_index: Path, fake_encoder: FakeEncoder) -> Retriever:
    return Retriever(open_index(small_index), fake_encoder)


def test_rrf_rewards_agreement() -> None:
    fused = rrf([[1, 2, 3], [3, 1, 4]], k=60)
    assert max(fused, key=fused.get) == 1
    assert fused[4] < fused[2] < fused[1]


def test_weighted_sum_normalises_each_list() -> None:
    fused = weighted_sum({1: 0.9, 2: 0.8, 3: 0.5}, {2: 30.0, 3: 10.0, 1: 5.0}, dense_weight=0.5)
    assert fused == pytest.approx({1: 0.5, 2: 0.875, 3: 0.1})


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_each_mode_finds_the_passage(retriever: Retriever, mode: str) -> None:
    hits = retriever.search(["387 flexwoningen Mrija"], k=3, mode=mode)[0]
    assert "387 flexwoningen" in hits[0].text
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_batch_search_matches_single_search(retriever: Retriever) -> None:
    qs = ["beschermd wonen", "energiecoaches energierekening"]
    batch = retriever.search(qs, k=3)
    assert [[h.passage_id for h in hs] for hs in batch] == [[h.passage_id for h in retriever.search([q], k=3)[0]] for q in qs]


def test_filter_returns_only_matching_passages_and_still_k(retriever: Retriever) -> None:
    hits = retriever.search(["beschermd wonen"], k=3, filters=Filters.make(gemeente="Velsen"))[0]
    assert len(hits) == 3  # Velsen has 3 passages; all come back although others rank higher
    assert {h.gemeente for h in hits} == {"Velsen"}


def test_year_range_filter(retriever: Retriever) -> None:
    hits = retriever.search(["wonen"], k=10, filters=Filters.make(year="2023-2024"))[0]
    assert hits and all(h.year == 2023 for h in hits)


def test_filter_cites_the_matching_copy_of_a_repeated_passage(retriever: Retriever) -> None:
    hits = retriever.search(["Wmo-maatwerkvoorziening"], k=1, filters=Filters.make(gemeente="Vlaardingen"))[0]
    assert hits[0].gemeente == "Vlaardingen"
    assert hits[0].source == "vlaardingen-jaarstukken-2023.txt"
    assert [loc.source for loc in hits[0].passage.also_at] == ["maassluis-programmabegroting-2023.txt"]


def test_filter_naming_what_the_index_lacks_is_an_error(retriever: Retriever) -> None:
    with pytest.raises(FilterError, match="onbekende gemeente rotterdam; in de index: Maassluis, Velsen, Vlaardingen"):
        retriever.search(["wonen"], k=5, filters=Filters.make(gemeente="Rotterdam"))


def test_filters_that_exist_but_never_meet_find_nothing_and_say_so(retriever: Retriever, caplog: pytest.LogCaptureFixture) -> None:
    assert retriever.search(["wonen"], k=5, filters=Filters.make(gemeente="Velsen", year=2023))[0] == []
    assert "alle filters samen" in caplog.text


@pytest.mark.parametrize("year, expected", [("2022", (2022, 2022)), ("2020-2023", (2020, 2023)), ("2021-", (2021, None)), (2022, (2022, 2022))])
def test_year_filter_syntax(year: object, expected: tuple) -> None:
    f = Filters.make(year=year)  # type: ignore[arg-type]
    assert (f.year_min, f.year_max) == expected


@pytest.mark.parametrize("bad", ["vorig jaar", "2023-2020"])
def test_bad_year_is_one_clear_error(bad: str) -> None:
    with pytest.raises(QueryError, match="jaar"):
        Filters.make(year=bad)


@pytest.mark.parametrize("query", ["", "   ", "\n"])
def test_empty_query_is_refused(retriever: Retriever, query: str) -> None:
    with pytest.raises(QueryError, match="lege zoekvraag"):
        retriever.search([query])


def test_hits_carry_citation_fields_and_matched_terms(retriever: Retriever) -> None:
    h = retriever.search(["bijstandsuitkering Velsen"], k=1)[0][0]
    assert h.citation.startswith("Velsen · ")
    assert "Re-integratie in Velsen" in h.citation
    assert "bijstandsuitkering" in h.matched_terms
    d = h.to_dict()
    for key in ("rank", "score", "passage_id", "text", "source", "title", "gemeente", "year", "doc_type", "section", "page", "char_start", "char_end", "citation"):
        assert key in d


def test_parallel_hybrid_equals_one_after_the_other(small_index: Path, fake_encoder: FakeEncoder) -> None:
    """On a large index the vector side runs in a second thread beside BM25: same hits and scores."""
    import threading

    from sdsearch.config import Settings

    seen: list[str] = []

    class Recording(FakeEncoder):
        def encode_queries(self, texts):  # type: ignore[no-untyped-def]
            seen.append(threading.current_thread().name)
            return super().encode_queries(texts)

    qs = [
        "beschermd wonen",
        "387 flexwoningen Mrija",
        "Welke taken heeft de gemeente en hoeveel kost de jeugdhulp? "
        "En wat doet de gemeente tegen armoede en schulden onder jongeren in Maassluis en Vlaardingen?",
    ]
    index = open_index(small_index)
    par = Retriever(index, Recording(), Settings(parallel_from=1)).search(qs, k=5)
    seq = Retriever(index, Recording(), Settings(parallel_from=0)).search(qs, k=5)
    default = Retriever(index, Recording(), Settings()).search(qs, k=5)  # a small index: one after the other
    as_pairs = [[(h.passage_id, h.score) for h in hits] for hits in par]
    assert as_pairs == [[(h.passage_id, h.score) for h in hits] for hits in seq]
    assert as_pairs == [[(h.passage_id, h.score) for h in hits] for hits in default]
    main = threading.current_thread().name
    assert seen[0].startswith("sdsearch-dense") and seen[1] == main and seen[2] == main


def test_an_error_on_the_bm25_side_waits_for_the_vector_side(
    small_index: Path, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sdsearch.config import Settings

    retriever = Retriever(open_index(small_index), fake_encoder, Settings(parallel_from=1))
    done = []

    def slow_dense(qvecs, n, mask):  # type: ignore[no-untyped-def]
        import time

        time.sleep(0.2)
        done.append(True)
        return [[] for _ in range(len(qvecs))]

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("kapot")

    monkeypatch.setattr(retriever, "dense", slow_dense)
    monkeypatch.setattr(retriever, "sparse_planned", broken)
    with pytest.raises(RuntimeError, match="kapot"):
        retriever.search(["beschermd wonen"], mode="hybrid")
    assert done == [True]
