"""Find and parse a project constitution into principles and rules with stable IDs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

RuleLevel = Literal["MUST", "MUST NOT", "SHALL", "SHOULD", "SHOULD NOT"]
Category = Literal["coding", "testing", "security", "architecture"]

CATEGORY_LABELS: dict[Category, str] = {
    "coding": "Follows coding standards",
    "testing": "Adheres to testing strategy",
    "security": "Complies with security guidelines",
    "architecture": "Maintains architectural principles",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Frozen):
    """One normative sentence or bullet, e.g. `C-III.2` (principle III, second rule)."""

    id: str
    level: RuleLevel
    category: Category
    text: str
    principle: str  # the principle's title
    line: int

    @property
    def mandatory(self) -> bool:
        return self.level in ("MUST", "MUST NOT", "SHALL")


class Principle(_Frozen):
    number: str  # roman numeral, "I", "II", … (given by the heading or by position)
    title: str
    line: int


class Constitution(_Frozen):
    path: Path
    title: str
    version: str | None
    principles: tuple[Principle, ...]
    rules: tuple[Rule, ...]
    warnings: tuple[str, ...]  # e.g. "still an unfilled template: no rules taken"
