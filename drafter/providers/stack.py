"""The provider a run drafts and judges with: the chat model wrapped in what the run needs."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from drafter.core.config import Settings
from drafter.providers.base import Provider
from drafter.providers.cache import CachedProvider
from drafter.providers.cassette import Tape
from drafter.providers.chat import ChatProvider
from drafter.providers.limiter import CallBound, LimitedProvider


def build(
    settings: Settings,
    *,
    bound: CallBound | None = None,
    tape: Tape | None = None,
    cached: bool = True,
    schemas: Sequence[type[BaseModel]] = (),
) -> Provider:
    """`settings.model`, sending through `tape` when given, at most `bound` calls at once
    (default: `settings.max_concurrency`), answered from the response cache when `cached`.

    A taped run never uses the cache: a cassette must hold every call of its run. `schemas`
    are the ones the run will ask for (prepared before its first call).
    """
    chat = ChatProvider(
        settings,
        transport=None if tape is None else tape.transport,
        replaying=tape is not None and tape.replaying,
        schemas=schemas,
    )
    provider: Provider = LimitedProvider(chat, bound or CallBound(settings.max_concurrency))
    if cached and tape is None:
        provider = CachedProvider(provider, settings)
    return provider
