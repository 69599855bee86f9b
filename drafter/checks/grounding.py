"""Grounding checks: a plan's "modified" files must exist in the repository it is for, and
its new files sit in existing folders (or say they are proposals)."""

from __future__ import annotations

from pydantic import BaseModel

from drafter.checks.report import Finding
from drafter.inputs.repository import Repository
from drafter.model import plan as p
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


def validate_section(name: str, section: BaseModel, repository: Repository | None) -> list[str]:
    """Problems with a drafted Proposed Changes section against the repository, phrased for
    the model that must fix them: a modified file must exist; a new file must sit in an
    existing folder unless it is marked proposed."""
    if repository is None or not isinstance(section, p.ComponentsSection):
        return []
    problems = []
    for component in section.components:
        for modified in component.modified_files:
            path = modified.path.removeprefix("./")
            if not repository.exists(path):
                problems.append(
                    f"modified file `{modified.path}` does not exist in the repository: name "
                    "an existing file from the repository map, or list it under new_files"
                )
        for new in component.new_files:
            path = new.path.removeprefix("./")
            if repository.exists(path):
                problems.append(
                    f"new file `{new.path}` already exists: list it under modified_files"
                )
            elif not new.proposed and not repository.folder_exists(path):
                problems.append(
                    f"new file `{new.path}` is not in an existing folder: put it beside the "
                    "code it joins, or set proposed: true"
                )
    return problems
