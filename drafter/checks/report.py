"""Findings and rule verdicts: what checking a plan produces, for people and for editors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from drafter.inputs.constitution import CATEGORY_LABELS, Category, Rule

Severity = Literal["error", "warning", "note"]
VerdictValue = Literal["pass", "fail", "not_applicable", "needs_review"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Finding(_Model):
    """One problem, located: printed as `FILE:LINE:COL: severity: RULE-ID message`."""

    rule_id: str
    severity: Severity
    message: str
    section: str | None = None  # plan section name, for the repair loop
    anchor: str | None = None  # text to find in the rendered plan to place the finding
    file: Path | None = None
    line: int = 1
    col: int = 1

    def format(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}: " if self.file else ""
        return f"{where}{self.severity}: {self.rule_id} {self.message}"


class Verdict(_Model):
    """A constitution rule's verdict and the evidence it rests on."""

    rule: Rule
    value: VerdictValue
    evidence: str
    method: Literal["deterministic", "declared", "judge", "none"]


class Report(_Model):
    findings: tuple[Finding, ...]
    verdicts: tuple[Verdict, ...]
    constitution_found: bool
    warnings: tuple[str, ...]

    @property
    def must_failed(self) -> bool:
        """True when a mandatory rule failed: the plan must not be treated as compliant."""
        return any(f.severity == "error" for f in self.findings)

    def box(self, category: Category) -> tuple[bool, tuple[str, ...]]:
        """Compliance box state: ticked only when every MUST rule of the category passed.

        Returns (ticked, IDs of the mandatory rules that failed or were not decided).
        A category with no mandatory rules is never ticked (nothing was verified).
        """
        mandatory = [v for v in self.verdicts if v.rule.category == category and v.rule.mandatory]
        open_ids = tuple(v.rule.id for v in mandatory if v.value not in ("pass", "not_applicable"))
        return bool(mandatory) and not open_ids, open_ids


__all__ = ["CATEGORY_LABELS", "Finding", "Report", "Verdict"]
