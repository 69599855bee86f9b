"""A content-addressed cache of answers under `<cache_dir>/cache`, as a provider wrapper.

The key is a hash of what decides the answer: the model, the endpoint, the sampling
settings, the schema and the messages sent. A request is reused only when all of them are
byte-identical, so the cache never answers a question that was not asked. Every request
carries the whole spec and constitution (the shared prompt prefix), so editing either re-asks
everything; re-running on unchanged input asks nothing. Only answers that fit the schema are
stored: a repair request differs (it carries the errors) and is cached under its own key.

Record and replay runs are built without this wrapper: a cassette must hold every call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from drafter.core.config import Settings
from drafter.core.files import write_atomic
from drafter.providers.base import Answer, Message, Provider, Schema
from drafter.providers.usage import CallUsage

# Bumped when the stored format or the key's make-up changes, so old entries are not read.
FORMAT = 2


class CachedProvider:
    """`inner`, answering a request asked before from `directory` at no cost."""

    def __init__(self, inner: Provider, settings: Settings) -> None:
        self.inner = inner
        self.name = inner.name
        self.directory = settings.cache_dir / "cache"
        self._identity = {
            "format": FORMAT,
            "model": settings.model,
            "base_url": settings.base_url,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
        }

    async def ask(self, schema: type[Schema], messages: Sequence[Message]) -> Answer[Schema]:
        path = self._path(self.key(schema, messages))
        stored = _load(path, schema)
        if stored is not None:
            return Answer(stored, CallUsage())
        answer = await self.inner.ask(schema, messages)
        if answer.parsed is not None:
            entry = {"schema": schema.__name__, "answer": answer.parsed.model_dump(mode="json")}
            # a cache that cannot be written only costs the next run its calls
            with suppress(OSError):
                write_atomic(path, json.dumps(entry, ensure_ascii=False))
        return answer

    def key(self, schema: type[BaseModel], messages: Sequence[Message]) -> str:
        request = {
            **self._identity,
            "schema": _schema(schema),
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }
        text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"


def _load(path: Path, schema: type[Schema]) -> Schema | None:
    try:
        return schema.model_validate(json.loads(path.read_bytes())["answer"])
    except (OSError, ValueError, KeyError, TypeError, ValidationError):
        return None  # absent, unreadable or from an older plan model: ask again


@cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()
