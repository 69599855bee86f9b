"""A content-addressed cache of section answers under `<cache_dir>/cache`.

The key is a hash of what decides the answer: the model, the endpoint, the sampling
settings, the section's JSON schema and the messages sent. A request is reused only when all
of them are byte-identical, so the cache never answers a question that was not asked. Every
request carries the whole spec and constitution (they are the shared prompt prefix), so
editing either re-asks every section; re-running on unchanged input asks nothing. The first
answer that parsed is stored, even one the pipeline then repaired: the repair request differs
(it carries the errors) and is cached under its own key, so a re-run replays both.

The cache stays out of record/replay runs: a cassette must hold every call of the run, and a
replayed run must be answered by its cassette alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from drafter.core.config import Settings
from drafter.model.sections import Section
from drafter.providers import recording

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

# Bumped when the stored format or the key's make-up changes, so old entries are not read.
FORMAT = 1


class ResponseCache:
    """Section answers keyed by request; off when `settings.cache` is false (`--no-cache`)."""

    def __init__(self, settings: Settings) -> None:
        self.directory = settings.cache_dir / "cache"
        self.enabled = settings.cache
        self._identity = {
            "format": FORMAT,
            "model": settings.model,
            "base_url": settings.base_url,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
        }

    def key(self, section: Section, messages: Sequence[BaseMessage]) -> str:
        request = {
            **self._identity,
            "schema": _schema(section.model),
            "messages": [{"role": m.type, "content": m.content} for m in messages],
        }
        text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _usable(self) -> bool:
        return self.enabled and not recording.active()

    def get(self, section: Section, messages: Sequence[BaseMessage]) -> BaseModel | None:
        """The stored answer to this exact request, or None."""
        if not self._usable():
            return None
        try:
            stored = json.loads(self._path(self.key(section, messages)).read_bytes())
            return section.model.model_validate(stored["answer"])
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            return None  # absent, unreadable or from an older plan model: ask again

    def put(self, section: Section, messages: Sequence[BaseMessage], answer: BaseModel) -> None:
        if not self._usable():
            return
        path = self._path(self.key(section, messages))
        entry = {"section": section.name, "answer": answer.model_dump(mode="json")}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
            temporary.write_text(json.dumps(entry, ensure_ascii=False), "utf-8")
            os.replace(temporary, path)  # atomic: a concurrent reader sees all or nothing
        except OSError:
            pass  # a cache that cannot be written only costs the next run its calls


@cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()
