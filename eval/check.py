#!/usr/bin/env python3
"""Check the sdsearch evaluation data (stdlib only).

Usage: python3 eval/check.py   (from anywhere; paths are relative to this file)

Verifies that
  * every line of retrieval.jsonl and answers.jsonl is a JSON object with the expected keys,
  * ids are unique across both files,
  * every ``source`` is a file in corpus/,
  * every retrieval ``span`` and every answer ``context`` occurs verbatim in its source,
  * every ``answer`` occurs verbatim in its ``context``,
  * tags and types come from the allowed sets,
and prints counts per tag, type and document.  Exit status 1 on any error.
Warnings (not errors): spans outside 30-250 characters, spans or contexts that occur
more than once in their file, answers that occur more than once in their context.

It also checks the two held-out retrieval sets retrieval_long.jsonl (ids L001..,
raadsvragen-style questions) and retrieval_short.jsonl (ids S001.., typed search-box
inputs).  For those, every line must have the keys id, query, relevant, tags, split;
spans must be verbatim and 30-250 characters (an error there, not a warning); split
must be "dev" or "test" and must equal the fixed split rule (per primary document,
i.e. the source of the first relevant entry: items in id order alternate dev, test,
dev, ... starting with dev); long queries have 30-80 words, short ones 1-4 words in
lower case; tags come from the per-set lists and the derived tags (multi-part,
cross-gemeente, gemeente names) must agree with the query and its spans.  Counts per
set, split, tag and document are printed.

It also checks answers3.jsonl, the fresh held-out answer set (ids c001.. answerable,
cu001.. unanswerable; report only, never tuned on): keys, unique ids, kinds from KINDS3,
split "test" everywhere, gemeente matching the source, every context (and every
``also`` context) verbatim in its source and every answer verbatim in its context.
Counts per kind and document are printed.

It also checks answers4.jsonl, the calibration set (ids d001.. answerable, du001..
unanswerable; used only to fit the answerer's confidence calibration and no-answer
threshold): the same checks as answers3.jsonl, with split "cal" everywhere; it fails below
110 answerable or 30 unanswerable questions and prints counts per kind and document.
It also checks answers5.jsonl, the fresh held-out answer set of 0.2.4 (ids e001.. answerable,
eu001.. unanswerable; report only, never tuned on): the same checks with split "test"
everywhere; it fails below 120 answerable or 30 unanswerable questions.
It also checks answers6.jsonl, the fresh held-out answer set of 0.2.5 (ids f001.. answerable,
fu001.. unanswerable; report only, never tuned on): the same checks with split "test"
everywhere; it fails below 120 answerable or 30 unanswerable questions.
It also checks answers7.jsonl, the fresh held-out answer set of 0.2.6 (ids g001.. answerable,
gu001.. unanswerable; report only, never tuned on): the same checks with split "test"
everywhere; it fails below 120 answerable or 30 unanswerable questions.
It also checks retrieval_paraphrase.jsonl (ids P001.., long formal questions written in other
words than their answer): keys id, query, relevant, tags, split; ids P### and unique; spans
verbatim and 30-250 characters; 30-80 words per query; split equal to the fixed split rule;
tags from PARA_TAGS (paraphrase-strict on every line, multi-part exactly when the query has 2+
question marks, a gemeente name exactly when the query names that gemeente); and the
no-shared-content-word rule: no word of 4+ letters outside a small function-word list
(PARA_STOP) and the gemeente names may share its crude stem (para_stem: ge- prefix and
common endings stripped) with a word of the relevant spans.  Counts per split and document
are printed.
"""
from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "corpus"
TAGS = {"paraphrase", "keyword", "name", "number", "compound", "hoeveel", "wanneer",
        "wie", "waarom", "cross-gemeente"}
TYPES = {"hoeveel", "wanneer", "wie", "waarom", "wat", "welke"}
MINIMA = {"paraphrase": 15, "name": 12, "number": 12, "compound": 10}

# Held-out sets (written by a different procedure than retrieval.jsonl).
GEMEENTEN = ("vlaardingen", "maassluis", "velsen")
HELDOUT = {
    # file name: (id prefix, allowed tags, minimum number of queries, (min words, max words))
    "retrieval_long.jsonl": ("L", {"multi-part", "cross-gemeente", "number", "name", "paraphrase",
                                   *GEMEENTEN}, 150, (30, 80)),
    "retrieval_short.jsonl": ("S", {"typo", "abbreviation", "name", "number", "keyword", "compound"},
                              100, (1, 4)),
}
SPLITS = ("dev", "test")

errors: list[str] = []
warnings: list[str] = []
texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))}


def err(msg: str) -> None:
    errors.append(msg)


def warn(msg: str) -> None:
    warnings.append(msg)


def load(path: Path) -> list[tuple[int, dict]]:
    rows = []
    if not path.exists():
        err(f"{path.name}: missing")
        return rows
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            err(f"{path.name}:{n}: empty line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            err(f"{path.name}:{n}: invalid JSON ({e})")
            continue
        if not isinstance(obj, dict):
            err(f"{path.name}:{n}: not a JSON object")
            continue
        rows.append((n, obj))
    return rows


def check_in_source(where: str, source, text, what: str) -> bool:
    if source not in texts:
        err(f"{where}: source {source!r} not in corpus/")
        return False
    if not isinstance(text, str) or not text:
        err(f"{where}: {what} missing or not a string")
        return False
    count = texts[source].count(text)
    if count == 0:
        err(f"{where}: {what} not found verbatim in {source}: {text[:80]!r}")
        return False
    if count > 1:
        warn(f"{where}: {what} occurs {count}x in {source}: {text[:60]!r}")
    return True


ids: Counter[str] = Counter()

def check_spans(where: str, rel: list, length=err) -> list[dict]:
    """Each relevant {source, span}: well formed, not repeated, verbatim in its source, 30-250
    characters (``length`` reports one outside that: an error, or for retrieval.jsonl a
    warning); the ones found in their source."""
    seen = set()
    good = []
    for j, r in enumerate(rel):
        w = f"{where} relevant[{j}]"
        if not isinstance(r, dict) or set(r) != {"source", "span"}:
            err(f"{w}: must be an object with keys source, span")
            continue
        if (r["source"], r["span"]) in seen:
            err(f"{w}: duplicate relevant entry")
        seen.add((r["source"], r["span"]))
        if check_in_source(w, r["source"], r["span"], "span"):
            good.append(r)
            if not 30 <= len(r["span"]) <= 250:
                length(f"{w}: span length {len(r['span'])} outside 30-250")
    return good


# ---- retrieval.jsonl ----
retrieval = load(HERE / "retrieval.jsonl")
tag_counts: Counter[str] = Counter()
doc_counts: Counter[str] = Counter()
n_multi = 0
for n, obj in retrieval:
    where = f"retrieval.jsonl:{n} ({obj.get('id')})"
    if set(obj) != {"id", "query", "relevant", "tags"}:
        err(f"{where}: keys {sorted(obj)} != ['id', 'query', 'relevant', 'tags']")
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid.startswith("r"):
        err(f"{where}: bad id {rid!r}")
    ids[str(rid)] += 1
    if not isinstance(obj.get("query"), str) or not obj["query"].strip():
        err(f"{where}: empty query")
    rel = obj.get("relevant")
    if not isinstance(rel, list) or not rel:
        err(f"{where}: 'relevant' must be a non-empty list")
        rel = []
    if len(rel) > 1:
        n_multi += 1
    check_spans(where, rel, length=warn)
    for s in {r["source"] for r in rel if isinstance(r, dict) and "source" in r}:
        doc_counts[s] += 1
    tags = obj.get("tags")
    if not isinstance(tags, list):
        err(f"{where}: tags must be a list")
        tags = []
    for t in tags:
        if t not in TAGS:
            err(f"{where}: unknown tag {t!r}")
    if len(set(tags)) != len(tags):
        err(f"{where}: duplicate tag")
    tag_counts.update(tags)
    if "cross-gemeente" in tags:
        gemeenten = {r["source"].split("-")[0] for r in rel if isinstance(r, dict) and "source" in r}
        if len(gemeenten) < 2:
            err(f"{where}: tagged cross-gemeente but relevant spans come from {gemeenten}")

# ---- answers.jsonl ----
answers = load(HERE / "answers.jsonl")
type_counts: Counter[str] = Counter()
adoc_counts: Counter[str] = Counter()
n_ans = n_unans = 0
for n, obj in answers:
    aid = obj.get("id")
    where = f"answers.jsonl:{n} ({aid})"
    ids[str(aid)] += 1
    if not isinstance(obj.get("question"), str) or not obj["question"].strip():
        err(f"{where}: empty question")
    if obj.get("answer") is None:
        n_unans += 1
        if set(obj) != {"id", "question", "answer"}:
            err(f"{where}: unanswerable item keys {sorted(obj)} != ['answer', 'id', 'question']")
        if not str(aid).startswith("n"):
            err(f"{where}: unanswerable ids start with 'n'")
        continue
    n_ans += 1
    if set(obj) != {"id", "question", "source", "answer", "context", "type"}:
        err(f"{where}: keys {sorted(obj)} != answer, context, id, question, source, type")
    if not str(aid).startswith("a"):
        err(f"{where}: answerable ids start with 'a'")
    if obj.get("type") not in TYPES:
        err(f"{where}: unknown type {obj.get('type')!r}")
    type_counts[str(obj.get("type"))] += 1
    adoc_counts[str(obj.get("source"))] += 1
    ans, ctx = obj.get("answer"), obj.get("context")
    check_in_source(where, obj.get("source"), ctx, "context")
    if not isinstance(ans, str) or not ans:
        err(f"{where}: answer must be a non-empty string or null")
    elif isinstance(ctx, str):
        if ans not in ctx:
            err(f"{where}: answer {ans!r} not in context")
        elif ctx.count(ans) > 1:
            warn(f"{where}: answer {ans!r} occurs {ctx.count(ans)}x in its context")
        if len(ans) > 70:
            warn(f"{where}: long answer ({len(ans)} chars)")

# ---- retrieval_long.jsonl / retrieval_short.jsonl (held-out sets) ----
def gemeente_of(source: str) -> str:
    return source.split("-")[0]


def expected_splits(rows: list[dict]) -> dict[str, str]:
    """The fixed split rule: per primary document (source of the first relevant entry),
    items in id order alternate dev, test, dev, ... starting with dev."""
    by_doc: dict[str, list[str]] = {}
    for obj in rows:
        rel = obj.get("relevant")
        first = rel[0] if isinstance(rel, list) and rel and isinstance(rel[0], dict) else {}
        by_doc.setdefault(str(first.get("source")), []).append(str(obj.get("id")))
    out = {}
    for doc_ids in by_doc.values():
        for k, i in enumerate(sorted(doc_ids)):
            out[i] = SPLITS[k % 2]
    return out


def check_query_line(fname: str, n: int, obj: dict, prefix: str, wmin: int, wmax: int, splits: Counter[str]) -> tuple[str, str, object, list]:
    """Keys, id, query length and split of one line of a split retrieval set; its place for
    messages, its query, split and relevant list (counted in ``splits`` and ``ids``)."""
    where = f"{fname}:{n} ({obj.get('id')})"
    if set(obj) != {"id", "query", "relevant", "tags", "split"}:
        err(f"{where}: keys {sorted(obj)} != ['id', 'query', 'relevant', 'split', 'tags']")
    qid = obj.get("id")
    if not (isinstance(qid, str) and len(qid) == 4 and qid[0] == prefix and qid[1:].isdigit()):
        err(f"{where}: bad id {qid!r} (expected {prefix}001, {prefix}002, ...)")
    ids[str(qid)] += 1
    query = obj.get("query")
    if not isinstance(query, str) or not query.strip():
        err(f"{where}: empty query")
        query = ""
    nwords = len(query.split())
    if not wmin <= nwords <= wmax:
        err(f"{where}: query has {nwords} words, expected {wmin}-{wmax}")
    split = obj.get("split")
    if split not in SPLITS:
        err(f"{where}: split {split!r} not in {SPLITS}")
    splits[str(split)] += 1
    rel = obj.get("relevant")
    if not isinstance(rel, list) or not rel:
        err(f"{where}: 'relevant' must be a non-empty list")
        rel = []
    return where, query, split, rel


def check_tags(where: str, obj: dict, allowed, fname: str) -> list:
    """The line's tags: a list of known, distinct tags."""
    tags = obj.get("tags")
    if not isinstance(tags, list):
        err(f"{where}: tags must be a list")
        tags = []
    for t in tags:
        if t not in allowed:
            err(f"{where}: unknown tag {t!r} for {fname}")
    if len(set(tags)) != len(tags):
        err(f"{where}: duplicate tag")
    return tags


def check_split_rule(fname: str, rows: list[tuple[int, dict]], minimum: int, splits: Counter[str]) -> None:
    """The fixed dev/test split (``expected_splits``), the set's size and both splits present."""
    expected = expected_splits([o for _, o in rows])
    for n, obj in rows:
        if obj.get("split") in SPLITS and expected.get(str(obj.get("id"))) != obj.get("split"):
            err(f"{fname}:{n} ({obj.get('id')}): split {obj.get('split')!r} breaks the fixed split rule "
                f"(expected {expected.get(str(obj.get('id')))!r})")
    if len(rows) < minimum:
        err(f"{fname}: {len(rows)} queries < {minimum}")
    for s_ in SPLITS:
        if not splits[s_]:
            err(f"{fname}: no {s_} items")


heldout_reports = []
for fname, (prefix, allowed, minimum, (wmin, wmax)) in HELDOUT.items():
    rows = load(HERE / fname)
    h_tags: Counter[str] = Counter()
    h_split: Counter[str] = Counter()
    h_doc: Counter[str] = Counter()
    h_primary: Counter[tuple[str, str]] = Counter()
    h_multi = 0
    for n, obj in rows:
        where, query, split, rel = check_query_line(fname, n, obj, prefix, wmin, wmax, h_split)
        if prefix == "S" and query != query.lower():
            err(f"{where}: short query must be lower case")
        if len(rel) > 1:
            h_multi += 1
        good = check_spans(where, rel)
        for src in {r["source"] for r in good}:
            h_doc[src] += 1
        if rel and isinstance(rel[0], dict):
            h_primary[(str(rel[0].get("source")), str(split))] += 1
        tags = check_tags(where, obj, allowed, fname)
        if not tags:
            err(f"{where}: no tags")
        h_tags.update(tags)
        gem = {gemeente_of(r["source"]) for r in good}
        if prefix == "L":
            if set(tags) & set(GEMEENTEN) != gem:
                err(f"{where}: gemeente tags {sorted(set(tags) & set(GEMEENTEN))} != gemeenten of spans {sorted(gem)}")
            if ("multi-part" in tags) != (query.count("?") >= 2):
                err(f"{where}: tag multi-part must be set exactly when the query asks 2+ questions")
        if ("cross-gemeente" in tags) != (len(gem) >= 2) and (prefix == "L" or "cross-gemeente" in tags):
            err(f"{where}: tag cross-gemeente must be set exactly when spans come from 2+ gemeenten ({sorted(gem)})")
    check_split_rule(fname, rows, minimum, h_split)
    heldout_reports.append((fname, rows, h_tags, h_split, h_doc, h_primary, h_multi, allowed))

# ---- answers3.jsonl (fresh held-out answer set, test only) ----
KINDS3 = {"wie", "welke", "hoeveel", "table", "wanneer", "waarom", "definition", "wat", "keyword",
          "neighbour"}
A3_KEYS = {"id", "question", "source", "answer", "context", "kind", "gemeente", "split"}
U3_KEYS = {"id", "question", "answer", "kind", "split"}
def check_answer_in(where: str, source, ans, ctx) -> None:
    if check_in_source(where, source, ctx, "context"):
        if not isinstance(ans, str) or not ans:
            err(f"{where}: answer must be a non-empty string")
        elif ans not in ctx:
            err(f"{where}: answer {ans!r} not in context")
        elif ctx.count(ans) > 1:
            warn(f"{where}: answer {ans!r} occurs {ctx.count(ans)}x in its context")


def check_answer_set(fname: str, prefix: str, split: str, why: str, min_ans: int, min_unans: int) -> dict:
    """One fresh answer set (answers3, answers4, answers5, answers6): ids <prefix>001.. answerable and
    <prefix>u001.. unanswerable, every line in ``split``; returns its counts for the summary."""
    got = {"kind": Counter(), "unans": Counter(), "doc": Counter(), "also": 0}
    for n, obj in load(HERE / fname):
        cid = obj.get("id")
        where = f"{fname}:{n} ({cid})"
        ids[str(cid)] += 1
        if not isinstance(obj.get("question"), str) or not obj["question"].strip():
            err(f"{where}: empty question")
        if obj.get("split") != split:
            err(f"{where}: split must be {split!r} ({why})")
        kind = obj.get("kind")
        if kind not in KINDS3:
            err(f"{where}: unknown kind {kind!r}")
        if obj.get("answer") is None:
            got["unans"][str(kind)] += 1
            if set(obj) != U3_KEYS:
                err(f"{where}: unanswerable keys {sorted(obj)} != {sorted(U3_KEYS)}")
            if not (isinstance(cid, str) and len(cid) == 5 and cid[:2] == prefix + "u" and cid[2:].isdigit()):
                err(f"{where}: unanswerable ids are {prefix}u001, {prefix}u002, ...")
            continue
        got["kind"][str(kind)] += 1
        if set(obj) - {"also"} != A3_KEYS:
            err(f"{where}: keys {sorted(obj)} != {sorted(A3_KEYS)} (+ optional also)")
        if not (isinstance(cid, str) and len(cid) == 4 and cid[0] == prefix and cid[1:].isdigit()):
            err(f"{where}: answerable ids are {prefix}001, {prefix}002, ...")
        src = obj.get("source")
        got["doc"][str(src)] += 1
        if isinstance(src, str) and obj.get("gemeente") != gemeente_of(src).capitalize():
            err(f"{where}: gemeente {obj.get('gemeente')!r} does not match source {src!r}")
        check_answer_in(where, src, obj.get("answer"), obj.get("context"))
        if "also" in obj:
            also_ = obj["also"]
            if not isinstance(also_, list) or not also_:
                err(f"{where}: 'also' must be a non-empty list")
                continue
            got["also"] += 1
            for j, a in enumerate(also_):
                w = f"{where} also[{j}]"
                if not isinstance(a, dict) or set(a) != {"source", "answer", "context"}:
                    err(f"{w}: must be an object with keys source, answer, context")
                    continue
                if (a["source"], a["context"]) == (src, obj.get("context")):
                    err(f"{w}: repeats the main context")
                check_answer_in(w, a["source"], a["answer"], a["context"])
    n_ans, n_unans = sum(got["kind"].values()), sum(got["unans"].values())
    if n_ans < min_ans:
        err(f"{fname}: {n_ans} answerable < {min_ans}")
    if n_unans < min_unans:
        err(f"{fname}: {n_unans} unanswerable < {min_unans}")
    return got


def print_answer_set(fname: str, split: str, got: dict) -> None:
    n_ans, n_unans = sum(got["kind"].values()), sum(got["unans"].values())
    print(f"{fname}: {n_ans} answerable ({got['also']} with 'also'), {n_unans} unanswerable, all split={split}")
    print("  answerable kinds:", ", ".join(f"{k}={got['kind'][k]}" for k in sorted(KINDS3)))
    print("  unanswerable kinds:", ", ".join(f"{k}={got['unans'][k]}" for k in sorted(KINDS3) if got["unans"][k]))
    print("  answerable per document:")
    for s_ in sorted(texts):
        print(f"    {got['doc'][s_]:4d}  {s_}")


# answers3.jsonl, answers5.jsonl, answers6.jsonl and answers7.jsonl: fresh held-out sets (report only); answers4.jsonl: the calibration set.
answers3 = check_answer_set("answers3.jsonl", "c", "test", "the whole file is held out", 70, 20)
answers4 = check_answer_set("answers4.jsonl", "d", "cal", "the whole file is the calibration set", 110, 30)
answers5 = check_answer_set("answers5.jsonl", "e", "test", "the whole file is held out", 120, 30)
answers6 = check_answer_set("answers6.jsonl", "f", "test", "the whole file is held out", 120, 30)
answers7 = check_answer_set("answers7.jsonl", "g", "test", "the whole file is held out", 120, 30)

# ---- retrieval_paraphrase.jsonl (long questions in other words) ----
PARA_TAGS = {"paraphrase-strict", "multi-part", *GEMEENTEN}
PARA_EXEMPT = {"maassluis", "vlaardingen", "velsen", "vlaardingers"}
PARA_STOP = set("""aan aldus alle allen alles als alsmede ander andere anders bent beide beiden bij binnen
daar daarbij daarin daarmee daarna daarnaast daarom daarvan daarvoor dan dat deze die dit doch door
dus een eens eerder elk elke enig enige enkele er geen hebben heeft hier hierbij hierin hiermee hierop hoe
hun ieder iets indien inmiddels je kan kon kunnen maar meer mede met moet moeten mogen naar naast niet
niets nog noch nu of om omdat onder ons onze ook op over per reeds sinds sommige te tegen tot tussen
uit vanaf vanuit veel voor waar waarbij waarin waarmee waarom waarop wanneer want was wat welk welke
werd werden wie wij wil willen wordt worden zal zich zij zijn zou zouden zo zoals zodat zonder zulke zullen
wel heel zeer elkaar tijdens tevens echter alleen verder nadat ofwel hoeveel""".split())
PARA_SUFFIXES = ("heden", "heid", "lijke", "lijk", "ingen", "ing", "ende", "end", "ten", "den",
                 "en", "te", "de", "es", "s", "e")


def para_stem(w: str) -> str:
    """Crude Dutch stem: drop a ge- prefix (words over 6 letters) and one common ending."""
    w = w.lower()
    if w.startswith("ge") and len(w) > 6:
        w = w[2:]
    for suf in PARA_SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: -len(suf)]
    return w


def para_content_stems(text: str) -> dict[str, str]:
    """Content words (4+ letters, not a function word or gemeente name) by crude stem."""
    out: dict[str, str] = {}
    for w in re.findall(r"[A-Za-zÀ-ÿ]+", text):
        lw = w.lower()
        if len(lw) < 4 or lw in PARA_STOP or lw in PARA_EXEMPT:
            continue
        out.setdefault(para_stem(lw), lw)
    return out


para_rows = load(HERE / "retrieval_paraphrase.jsonl")
p_split: Counter[str] = Counter()
p_tags: Counter[str] = Counter()
p_primary: Counter[tuple[str, str]] = Counter()
p_multi = 0
for n, obj in para_rows:
    where, query, split, rel = check_query_line("retrieval_paraphrase.jsonl", n, obj, "P", 30, 80, p_split)
    if len(rel) > 1:
        p_multi += 1
    span_stems: dict[str, str] = {}
    for r in check_spans(where, rel):
        span_stems.update(para_content_stems(r["span"]))
    if rel and isinstance(rel[0], dict):
        p_primary[(str(rel[0].get("source")), str(split))] += 1
    q_stems = para_content_stems(query)
    shared = sorted(set(q_stems) & set(span_stems))
    if shared:
        err(f"{where}: query shares content words with its span(s): "
            + ", ".join(f"{q_stems[k]}~{span_stems[k]}" for k in shared))
    tags = check_tags(where, obj, PARA_TAGS, "retrieval_paraphrase.jsonl")
    if "paraphrase-strict" not in tags:
        err(f"{where}: tag paraphrase-strict missing")
    named = {g for g in GEMEENTEN if re.search(r"\b" + g + r"\b", query, re.I)}
    if set(tags) & set(GEMEENTEN) != named:
        err(f"{where}: gemeente tags {sorted(set(tags) & set(GEMEENTEN))} != gemeenten named in the query {sorted(named)}")
    if ("multi-part" in tags) != (query.count("?") >= 2):
        err(f"{where}: tag multi-part must be set exactly when the query has 2+ question marks")
    p_tags.update(tags)
check_split_rule("retrieval_paraphrase.jsonl", para_rows, 100, p_split)

for i, c in ids.items():
    if c > 1:
        err(f"id {i!r} used {c} times")

# ---- report ----
print(f"retrieval.jsonl: {len(retrieval)} queries, {n_multi} with more than one relevant span")
print("  tags:", ", ".join(f"{t}={tag_counts[t]}" for t in sorted(TAGS)))
print("  untagged:", sum(1 for _, o in retrieval if not o.get("tags")))
print("  queries per document (a query counts for every document it has a span in):")
for s in sorted(texts):
    print(f"    {doc_counts[s]:4d}  {s}")
print(f"answers.jsonl: {n_ans} answerable, {n_unans} unanswerable")
print("  types:", ", ".join(f"{t}={type_counts[t]}" for t in sorted(TYPES)))
print("  answerable per document:")
for s in sorted(texts):
    print(f"    {adoc_counts[s]:4d}  {s}")

for fname, rows, h_tags, h_split, h_doc, h_primary, h_multi, allowed in heldout_reports:
    print(f"{fname}: {len(rows)} queries (dev={h_split['dev']}, test={h_split['test']}), "
          f"{h_multi} with more than one relevant span, "
          f"{sum(len(o.get('relevant') or []) for _, o in rows)} relevant entries")
    print("  tags:", ", ".join(f"{t}={h_tags[t]}" for t in sorted(allowed)))
    print("  per document: primary dev / primary test / any span")
    for s_ in sorted(texts):
        print(f"    {h_primary[(s_, 'dev')]:4d} {h_primary[(s_, 'test')]:4d} {h_doc[s_]:4d}  {s_}")

print_answer_set("answers3.jsonl", "test", answers3)

print_answer_set("answers4.jsonl", "cal", answers4)

print_answer_set("answers5.jsonl", "test", answers5)

print_answer_set("answers6.jsonl", "test", answers6)

print_answer_set("answers7.jsonl", "test", answers7)

print(f"retrieval_paraphrase.jsonl: {len(para_rows)} queries (dev={p_split['dev']}, test={p_split['test']}), "
      f"{p_multi} with more than one relevant span")
print("  tags:", ", ".join(f"{t}={p_tags[t]}" for t in sorted(PARA_TAGS)))
print("  per document: primary dev / primary test")
for s_ in sorted(texts):
    print(f"    {p_primary[(s_, 'dev')]:4d} {p_primary[(s_, 'test')]:4d}  {s_}")

if len(retrieval) < 90:
    err(f"retrieval.jsonl: {len(retrieval)} queries < 90")
for t, m in MINIMA.items():
    if tag_counts[t] < m:
        err(f"retrieval.jsonl: tag {t} used {tag_counts[t]}x < {m}")
if n_ans < 45:
    err(f"answers.jsonl: {n_ans} answerable < 45")
if n_unans < 12:
    err(f"answers.jsonl: {n_unans} unanswerable < 12")

for w in warnings:
    print("WARNING:", w)
for e in errors:
    print("ERROR:", e)
print("OK" if not errors else f"FAILED: {len(errors)} error(s)")
sys.exit(1 if errors else 0)
