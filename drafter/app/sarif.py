"""SARIF 2.1.0 output of `drafter check`, for code-scanning dashboards and SARIF viewers.

One run, tool "drafter". Its rules are every structural rule drafter has (DR###, DR-READ,
DR-STALE) and each constitution rule that has a result. Paths are made relative to the
working directory (base %SRCROOT%) where they lie under it, absolute file URIs otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from drafter import __version__
from drafter.app.checking import DRAFTER_RULES, CheckResult, Diagnostic, Location
from drafter.inputs.constitution import Rule

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_ROOT = "%SRCROOT%"


def to_sarif(result: CheckResult, cwd: Path) -> dict[str, Any]:
    """The SARIF log of one check, paths relative to `cwd` where possible."""
    root = cwd.resolve()
    constitution_rules = _constitution_rules(result)
    descriptors: list[dict[str, Any]] = [
        {"id": rule_id, "shortDescription": {"text": title}}
        for rule_id, title in DRAFTER_RULES.items()
    ]
    used = {d.finding.rule_id for d in result.diagnostics}
    for rule in constitution_rules.values():
        if rule.id in used:
            descriptors.append(_constitution_descriptor(rule, result, root))
    index = {descriptor["id"]: i for i, descriptor in enumerate(descriptors)}
    results = [_result(d, index, root, result.plan_path) for d in result.diagnostics]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "drafter",
                        "version": __version__,
                        "rules": descriptors,
                    }
                },
                "originalUriBaseIds": {_ROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [{"executionSuccessful": True}],
                "results": results,
            }
        ],
    }


def _constitution_rules(result: CheckResult) -> dict[str, Rule]:
    verdicts = result.report.verdicts if result.report else ()
    return {verdict.rule.id: verdict.rule for verdict in verdicts}


def _constitution_descriptor(rule: Rule, result: CheckResult, root: Path) -> dict[str, Any]:
    short = rule.text if len(rule.text) <= 120 else rule.text[:117] + "..."
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": short},
        "fullDescription": {"text": rule.text},
        "defaultConfiguration": {"level": "error" if rule.mandatory else "warning"},
        "properties": {
            "level": rule.level,
            "category": rule.category,
            "principle": rule.principle,
        },
    }
    stated_in = rule.source or result.constitution_path  # a Kiro steering file of its own
    if stated_in is not None:
        descriptor["properties"]["source"] = f"{_artifact(stated_in, root)['uri']}:{rule.line}"
    return descriptor


def _result(
    diagnostic: Diagnostic, index: dict[str, int], root: Path, default_file: Path
) -> dict[str, Any]:
    finding = diagnostic.finding
    entry: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": finding.severity,
        "message": {"text": finding.message},
        "locations": [_location(finding.file or default_file, finding.line, finding.col, root)],
    }
    if finding.rule_id in index:
        entry["ruleIndex"] = index[finding.rule_id]
    if diagnostic.related:
        entry["relatedLocations"] = [
            _related(number, location, root)
            for number, location in enumerate(diagnostic.related, 1)
        ]
    return entry


def _related(number: int, location: Location, root: Path) -> dict[str, Any]:
    related = _location(location.file, location.line, location.col, root)
    related["id"] = number
    related["message"] = {"text": location.message}
    return related


def _location(file: Path, line: int, col: int, root: Path) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": _artifact(file, root),
            "region": {"startLine": max(line, 1), "startColumn": max(col, 1)},
        }
    }


def _artifact(file: Path, root: Path) -> dict[str, str]:
    absolute = file.resolve()
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": _ROOT}
