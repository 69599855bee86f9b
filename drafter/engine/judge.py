"""The LLM judge: with a model configured, it decides the rules no check could, quoting the plan.

The rules the declared and built-in checks leave `needs_review` go to the model in batches,
one structured call per batch, through the run's provider (its bound, cache and cassette). A
request starts with the
same prefix as drafting (system prompt, constitution, spec: the provider's prompt cache serves
it), then carries the rendered plan, fenced as data, and the rules. A verdict stands only on a
quote that occurs in the plan; otherwise the rule stays `needs_review`, saying why. A failed
call leaves its rules `needs_review` too: the judge never passes a rule it could not read.

Offline runs build no judge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from drafter.checks.report import Report, Verdict, VerdictValue
from drafter.document.readback import read
from drafter.document.render import render
from drafter.drafting import DraftInputs, prompts
from drafter.drafting.llm import fence_for, shared_prefix
from drafter.model.plan import Plan
from drafter.providers.base import Message, Provider, ProviderFailure
from drafter.providers.usage import CallUsage

# The judge asks about every undecided rule in one call (the plan's tokens are paid once); it
# splits only when the verdicts could pass the model's output limit.
TOKENS_PER_VERDICT = 200  # a verdict's rule ID, value, quote and reason, generously
DEFAULT_OUTPUT_LIMIT = 16_384  # output tokens assumed when max_tokens is not set
MIN_QUOTE_CHARS = 8  # a shorter quote occurs in almost any plan, so it proves nothing


class JudgedRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_id: str
    verdict: VerdictValue
    quote: str
    reason: str


class RuleVerdicts(BaseModel):
    """The judge's answer for one batch of rules (a strict JSON schema: no defaults)."""

    model_config = ConfigDict(extra="forbid")

    verdicts: list[JudgedRule]


def undecided(verdict: Verdict) -> bool:
    """A rule no declared or built-in check could decide: the judge's to decide."""
    return verdict.value == "needs_review" and verdict.method == "none"


@dataclass(frozen=True)
class PlanText:
    """The plan as the judge reads it: rendered, without the computed Compliance Check."""

    text: str
    sections: tuple[tuple[str, str], ...]  # (section name, its text), in plan order

    @classmethod
    def of(cls, plan: Plan, inputs: DraftInputs) -> PlanText:
        nothing = Report(findings=(), verdicts=(), constitution_found=False, warnings=())
        body = render(plan, nothing, inputs.spec)
        spans = read(body).spans
        lines: dict[str, list[str]] = {}
        for number, line in enumerate(body.splitlines(), start=1):
            name = next((n for n, s in spans.items() if s.start <= number <= s.end), "")
            if name != "compliance":  # verdicts from an earlier check are not evidence
                lines.setdefault(name, []).append(line)
        sections = tuple((name, "\n".join(text)) for name, text in lines.items())
        return cls("\n".join(text for _, text in sections), sections)

    def locate(self, quote: str) -> str | None:
        """The section `quote` occurs in (whitespace aside), "plan" when it spans sections,
        None when it does not occur."""
        wanted = _squeeze(quote)
        for name, text in self.sections:
            if wanted in _squeeze(text):
                return name or "plan"
        return "plan" if wanted in _squeeze(self.text) else None


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def verdicts_from(asked: Sequence[Verdict], answer: RuleVerdicts, plan: PlanText) -> list[Verdict]:
    """The verdicts of the rules `asked` about, from the judge's answer.

    Entries for rules not asked about are ignored (the first entry of a rule counts); a rule
    the answer leaves out keeps its verdict.
    """
    given: dict[str, JudgedRule] = {}
    for entry in answer.verdicts:
        given.setdefault(entry.rule_id.strip(), entry)
    result = []
    for verdict in asked:
        item = given.get(verdict.rule.id)
        if item is None:
            evidence = f"{verdict.evidence}; the judge gave no verdict for it"
            result.append(verdict.model_copy(update={"evidence": evidence}))
        else:
            result.append(_judged(verdict, item, plan))
    return result


def _judged(verdict: Verdict, item: JudgedRule, plan: PlanText) -> Verdict:
    reason = _squeeze(item.reason) or "no reason given"
    quote = _squeeze(item.quote)
    value: VerdictValue = item.verdict
    if value == "needs_review":
        evidence = f"the judge could not decide: {reason}"
    elif len(quote) < MIN_QUOTE_CHARS:
        value = "needs_review"
        evidence = f"the judge said {item.verdict} without quoting the plan ({reason})"
    elif (where := plan.locate(quote)) is None:
        value = "needs_review"
        evidence = f"the judge said {item.verdict}, but its quote is not in the plan: "
        evidence += f'"{quote}" ({reason})'
    else:
        evidence = f'"{quote}" ({where}) — {reason}'
    return Verdict(rule=verdict.rule, value=value, evidence=evidence, method="judge")


class LLMJudge:
    """Judges the undecided rules of one run's inputs by asking `provider`.

    Call it with a plan's verdicts (from `drafter.checks.verdicts.judge`); it returns them with
    the undecided ones judged. `usage` adds up what its calls cost.
    """

    def __init__(
        self, provider: Provider, inputs: DraftInputs, max_tokens: int | None = None
    ) -> None:
        self._provider = provider
        self._inputs = inputs
        self._per_call = max(1, (max_tokens or DEFAULT_OUTPUT_LIMIT) // TOKENS_PER_VERDICT)
        self.usage = CallUsage()
        self.split = 1  # calls the last judgement needed (more than one: the output limit)

    async def __call__(self, verdicts: list[Verdict], plan: Plan) -> list[Verdict]:
        open_ = [v for v in verdicts if undecided(v)]
        if not open_:
            return list(verdicts)
        text = PlanText.of(plan, self._inputs)
        prefix = shared_prefix(self._inputs)
        size = self._per_call
        groups = [open_[i : i + size] for i in range(0, len(open_), size)]
        self.split = len(groups)
        answers = await asyncio.gather(*(self._batch(prefix, group, text) for group in groups))
        judged = {v.rule.id: v for answer in answers for v in answer}
        return [judged.get(v.rule.id, v) for v in verdicts]

    async def _batch(
        self, prefix: list[Message], asked: list[Verdict], plan: PlanText
    ) -> list[Verdict]:
        rules = [v.rule for v in asked]
        request = prompts.render(
            "judge.md.j2", plan=plan.text, fence=fence_for(plan.text), rules=rules
        )
        try:
            answer = await self._provider.ask(RuleVerdicts, [*prefix, Message("user", request)])
        except ProviderFailure as failure:
            self.usage += failure.usage
            return [_unjudged(v, str(failure)) for v in asked]
        self.usage += answer.usage
        if answer.parsed is None:
            cause = "the answer does not fit the schema: " + "; ".join(answer.problems)
            return [_unjudged(v, cause) for v in asked]
        return verdicts_from(asked, answer.parsed, plan)


def _unjudged(verdict: Verdict, cause: str) -> Verdict:
    return verdict.model_copy(update={"evidence": f"{verdict.evidence}; the judge failed: {cause}"})
