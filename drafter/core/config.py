"""Settings, layered: command-line flags > `DRAFTER_*` environment > `[tool.drafter]` in
pyproject.toml or `drafter.toml` > defaults.

pydantic-settings would do this too, but it costs ~60 ms of import on every run (measured),
a quarter of the offline budget; the layering below is a few lines of stdlib.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from drafter.core.errors import InputError

ENV_PREFIX = "DRAFTER_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="provider:name, e.g. openai:gpt-4o-mini")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint")
    constitution: Path | None = None
    max_concurrency: int = Field(8, ge=1)
    repair_attempts: int = Field(2, ge=0)
    temperature: float | None = None
    max_tokens: int | None = Field(None, ge=1)
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)
    cache_dir: Path = Path(".drafter")
    cache: bool = True  # answer a request asked before from <cache_dir>/cache
    resume: bool = True  # keep drafted sections until the plan is written, for a re-run
    repo: Path | None = Field(None, description="the repository to ground the plan in")
    no_repo: bool = Field(False, description="draft without reading any repository")
    source: Path | None = Field(None, description="the config file the values came from")


def find_config_file(start: Path) -> Path | None:
    """The nearest `drafter.toml`, or `pyproject.toml` with a `[tool.drafter]` table."""
    for directory in (start, *start.parents):
        candidate = directory / "drafter.toml"
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "[tool.drafter]" in pyproject.read_text("utf-8", "replace"):
            return pyproject
        if (directory / ".git").exists():
            return None
    return None


def _file_values(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"cannot read settings from {path}: {error}") from error
    table = data.get("tool", {}).get("drafter", {}) if path.name == "pyproject.toml" else data
    values = {key.replace("-", "_"): value for key, value in table.items()}
    for key in ("constitution", "cache_dir", "repo"):  # paths in a config file are relative to it
        if key in values:
            values[key] = path.parent / values[key]
    return values


def load_env() -> dict[str, Any]:
    """The settings given as `DRAFTER_*` environment variables."""
    names = set(Settings.model_fields) - {"source"}
    return {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in os.environ.items()
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX) :].lower() in names
    }


def load(start: Path, flags: dict[str, Any] | None = None) -> Settings:
    """Settings for a run whose input lives in `start`; `flags` holds the options given."""
    values: dict[str, Any] = {}
    config_file = find_config_file(start.resolve())
    if config_file is not None:
        values |= _file_values(config_file)
        values["source"] = config_file
    values |= load_env()
    values |= {key: value for key, value in (flags or {}).items() if value is not None}
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        origin = f" (from {config_file})" if config_file else ""
        raise InputError(f"bad setting {where}{origin}: {first['msg']}") from error
