"""The GitHub Action (action.yml) and the workflows in docs/ci.md: valid against the published
schemas, and the action's shell steps do what they say on the bundled example.

tests/data/github-action.schema.json and github-workflow.schema.json are SchemaStore's
(src/schemas/json/ at commit 3b6446ad8a07, August 2026), the schemas editors validate these
files with; they are copied, not fetched, so the suite needs no network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import EXAMPLES, REPO

DATA = Path(__file__).parent / "data"


class Yaml12Loader(yaml.SafeLoader):
    """YAML as GitHub reads workflows (1.2 core): `on`, `yes`, `off` are strings, not booleans
    (PyYAML follows YAML 1.1 and would turn the `on:` key into True)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(text: str) -> Any:
    return yaml.load(text, Loader=Yaml12Loader)  # a SafeLoader subclass


ACTION = load((REPO / "action.yml").read_text("utf-8"))
CI_DOC = (REPO / "docs" / "ci.md").read_text("utf-8")
WORKFLOWS = re.findall(r"```yaml\n(# \.github/workflows/\S+\n.*?)```", CI_DOC, re.DOTALL)


def schema(name: str) -> Any:
    return json.loads((DATA / f"{name}.schema.json").read_text("utf-8"))


def test_action_matches_the_published_schema() -> None:
    jsonschema.validate(ACTION, schema("github-action"))
    assert ACTION["runs"]["using"] == "composite"
    # The schema does constrain: a composite action without steps is rejected.
    broken = {**ACTION, "runs": {"using": "composite"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema("github-action"))


@pytest.mark.parametrize("text", WORKFLOWS, ids=lambda t: t.split("\n", 1)[0][2:])
def test_documented_workflows_match_the_published_schema(text: str) -> None:
    jsonschema.validate(load(text), schema("github-workflow"))


def test_docs_show_a_workflow_that_uses_the_action() -> None:
    assert len(WORKFLOWS) >= 2
    ready = next(w for w in WORKFLOWS if "drafter.yml" in w.split("\n", 1)[0])
    steps = load(ready)["jobs"]["plans"]["steps"]
    used = next(step for step in steps if str(step.get("uses", "")).endswith("/drafter@v0.1.0"))
    assert set(used["with"]) <= set(ACTION["inputs"])
    assert load(ready)["jobs"]["plans"]["permissions"]["security-events"] == "write"


def test_every_input_is_documented_in_ci_md() -> None:
    for name in ACTION["inputs"]:
        assert f"`{name}`" in CI_DOC, name


# -- the action's steps, run as the runner runs them ----------------------------------------------


def run_steps(project: Path, inputs: dict[str, str]) -> dict[str, str]:
    """Run the action's own `run:` steps (not the installs) with bash, as the runner does
    (`bash --noprofile --norc -eo pipefail`), with `${{ inputs.* }}` filled in; returns the
    outputs the steps set."""
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()} | inputs
    outputs: dict[str, str] = {}
    for step in ACTION["runs"]["steps"]:
        if "run" not in step or step.get("name") == "Install drafter":
            continue
        if step["name"].startswith("Fail when"):
            continue  # its condition is the batch step's exit code, checked by the caller
        env = {
            key: re.sub(r"\$\{\{ inputs\.([\w-]+) \}\}", lambda m: values[m.group(1)], value)
            for key, value in step.get("env", {}).items()
        }
        output_file = project / f".output-{step['id']}"
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=project,
            env={
                **os.environ,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "GITHUB_OUTPUT": str(output_file),
                **env,
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        for line in output_file.read_text().splitlines():
            key, _, value = line.partition("=")
            outputs[f"{step['id']}.{key}"] = value
    return outputs


@pytest.mark.skipif(shutil.which("bash") is None, reason="the action's steps are bash scripts")
def test_action_steps_check_plans_and_write_junit_and_sarif(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES / "csv-export", project / "specs" / "001-export")
    spec = project / "specs" / "001-export" / "SPEC.md"
    # The committed plan is the offline drafter's: re-drafting it changes nothing.
    subprocess.run(
        [sys.executable, "-m", "drafter", "spec-to-plan", str(spec), "--force"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    inputs = {"specs": "specs/**/SPEC.md"}

    outputs = run_steps(project, inputs)
    assert outputs["batch.exit-code"] == "0"
    assert outputs["sarif.count"] == "1"
    junit = (project / "reports" / "drafter-junit.xml").read_text("utf-8")
    assert 'failures="0"' in junit and "001-export" in junit
    sarif = json.loads((project / "reports" / "drafter-sarif" / "plan-1.sarif").read_text())
    jsonschema.validate(sarif, json.loads((DATA / "sarif-2.1.0.schema.json").read_text()))

    spec.write_text(
        spec.read_text("utf-8").replace(
            "- **FR-005**:", "- **FR-099**: System MUST email the link.\n- **FR-005**:"
        ),
        "utf-8",
    )
    outputs = run_steps(project, inputs)
    assert outputs["batch.exit-code"] == "1"  # the last step fails the job with it
    sarif = json.loads((project / "reports" / "drafter-sarif" / "plan-1.sarif").read_text())
    rules = {result["ruleId"] for run in sarif["runs"] for result in run["results"]}
    assert "DR003" in rules
