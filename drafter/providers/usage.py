"""What a drafting run cost: tokens, calls, repairs and retries per section, wall time, price.

Each provider call returns its `CallUsage`; the engine adds the calls of a section into that
section's `SectionUsage` row (the judge's into the row "judge"). Nothing is collected on the
side: the offline drafter's calls cost nothing and report zero.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

COLUMNS = (
    "section",
    "calls",
    "repairs",
    "retries",
    "prompt",
    "cached",
    "completion",
    "wall s",
    "cost $",
)


@dataclass(frozen=True)
class CallUsage:
    """What one or more provider calls cost; a cached answer costs nothing."""

    calls: int = 0  # requests answered or failed, not counting retries
    retries: int = 0  # retries after 429, 5xx, timeouts and dropped connections
    prompt_tokens: int = 0
    cached_tokens: int = 0  # part of prompt_tokens the provider served from its prompt cache
    completion_tokens: int = 0

    def __add__(self, other: CallUsage) -> CallUsage:
        return CallUsage(*(a + b for a, b in zip(self._counts(), other._counts(), strict=True)))

    def __sub__(self, other: CallUsage) -> CallUsage:
        return CallUsage(*(a - b for a, b in zip(self._counts(), other._counts(), strict=True)))

    def _counts(self) -> tuple[int, int, int, int, int]:
        return (
            self.calls,
            self.retries,
            self.prompt_tokens,
            self.cached_tokens,
            self.completion_tokens,
        )


class SectionUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    section: str
    calls: int = 0  # requests answered or failed, not counting the SDK's retries
    repairs: int = 0  # calls repeated with validation errors appended
    retries: int = 0  # the SDK's own retries (429, 5xx, timeouts, dropped connections)
    prompt_tokens: int = 0
    cached_tokens: int = 0  # part of prompt_tokens the provider served from its prompt cache
    completion_tokens: int = 0
    wall_s: float = 0.0
    resumed: bool = False  # taken from the sections kept by an earlier, interrupted run
    note: str = ""  # shown beside the row's name (e.g. why the judge needed several calls)
    cost_usd: float | None = None

    def add(self, call: CallUsage) -> None:
        self.calls += call.calls
        self.retries += call.retries
        self.prompt_tokens += call.prompt_tokens
        self.cached_tokens += call.cached_tokens
        self.completion_tokens += call.completion_tokens

    def row(self) -> tuple[str, ...]:
        cost = "" if self.cost_usd is None else f"{self.cost_usd:.4f}"
        section = f"{self.section} (kept)" if self.resumed else self.section
        if self.note:
            section += f" ({self.note})"
        counts = (self.calls, self.repairs, self.retries)
        tokens = (self.prompt_tokens, self.cached_tokens, self.completion_tokens)
        return (section, *map(str, counts), *map(str, tokens), f"{self.wall_s:.2f}", cost)


class Usage(BaseModel):
    """Usage of one drafting run; `model_dump()` is what `--json` prints under `usage`."""

    model_config = ConfigDict(extra="forbid")

    model: str
    dag_depth: int  # levels of the section DAG: the least number of sequential calls
    wall_s: float
    sections: list[SectionUsage]
    total: SectionUsage

    @classmethod
    def build(
        cls, model: str, dag_depth: int, wall_s: float, sections: list[SectionUsage]
    ) -> Usage:
        price = price_of(model)
        for item in sections:
            item.cost_usd = None if price is None else price.cost(item)
        total = SectionUsage(
            section="total",
            calls=sum(s.calls for s in sections),
            repairs=sum(s.repairs for s in sections),
            retries=sum(s.retries for s in sections),
            prompt_tokens=sum(s.prompt_tokens for s in sections),
            cached_tokens=sum(s.cached_tokens for s in sections),
            completion_tokens=sum(s.completion_tokens for s in sections),
            wall_s=wall_s,
            cost_usd=None if price is None else sum(price.cost(s) for s in sections),
        )
        return cls(model=model, dag_depth=dag_depth, wall_s=wall_s, sections=sections, total=total)

    def table(self) -> list[tuple[str, ...]]:
        """Rows under `COLUMNS`: one per section, then the total."""
        return [s.row() for s in self.sections] + [self.total.row()]


class Price(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float
    cached_input: float
    output: float

    def cost(self, usage: SectionUsage) -> float:
        fresh = usage.prompt_tokens - usage.cached_tokens
        return (
            fresh * self.input
            + usage.cached_tokens * self.cached_input
            + usage.completion_tokens * self.output
        ) / 1_000_000


@cache
def _prices() -> dict[str, Price]:
    text = resources.files("drafter").joinpath("data/prices.toml").read_text("utf-8")
    return {name: Price(**row) for name, row in tomllib.loads(text)["models"].items()}


def price_of(model: str) -> Price | None:
    """The price of `model` ("provider:name"): an exact entry, else the first matching pattern."""
    prices = _prices()
    if model in prices:
        return prices[model]
    return next((p for pattern, p in prices.items() if fnmatch.fnmatchcase(model, pattern)), None)
