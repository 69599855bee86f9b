"""Grounding check: a plan's "modified" files must exist in the repository it is for."""

from __future__ import annotations

from drafter.checks.report import Finding
from drafter.inputs.repository import Repository
from drafter.model.plan import Plan

RULE_ID = "DR-PATH"
RULE_TITLE = "modified file not in the repository"


def missing_paths(plan: Plan, repository: Repository | None) -> list[Finding]:
    """One warning per Modified Files path that is not in the repository (none without one).

    The anchor is the path as the plan renders it, so the finding lands on its heading line.
    """
    if repository is None:
        return []
    findings = []
    for component in plan.components.components:
        for file in component.modified_files:
            path = file.path.removeprefix("./")
            if not repository.exists(path):
                findings.append(
                    Finding(
                        rule_id=RULE_ID,
                        severity="warning",
                        message=f"modified file `{file.path}` does not exist in "
                        f"{repository.root.name}/ (moved, deleted or never there?)",
                        section="components",
                        anchor=f"`{file.path}`",
                    )
                )
    return findings
