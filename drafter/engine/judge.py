"""The LLM judge: with a model configured, it decides the rules no check could, quoting the plan.

The rules the declared and built-in checks leave `needs_review` go to the model in batches,
one structured call per batch, at most `max_concurrency` at once. A request starts with the
same prefix as drafting (system prompt, constitution, spec: the provider's prompt cache serves
it), then carries the rendered plan, fenced as data, and the rules. A verdict stands only on a
quote that occurs in the plan; otherwise the rule stays `needs_review`, saying why. A failed
call leaves its rules `needs_review` too: the judge never passes a rule it could not read.

LangChain is imported only when a call is made, so building a judge costs nothing offline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from drafter.app import batch
from drafter.checks.report import Report, Verdict, VerdictValue
from drafter.core.config import Settings
from drafter.drafting import DraftInputs, prompts
from drafter.model.plan import Plan
from drafter.model.sections import Section
from drafter.providers import usage
from drafter.providers.cache import ResponseCache

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import Runnable

BATCH_SIZE = 10  # rules per call: enough to share the plan's tokens, few enough to judge well
MIN_QUOTE_CHARS = 8  # a shorter quote occurs in almost any plan, so it proves nothing
USAGE_ROW = "judge"  # the usage table's row for judge calls


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


# How the response cache files the judge's answers (it keys them by schema and messages).
CACHE_SECTION = Section(USAGE_ROW, "Rule verdicts", RuleVerdicts, ())


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
        from drafter.document.readback import read
        from drafter.document.render import render

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
    """Judges the undecided rules of one run's inputs with `settings.model`.

    Call it with a plan's verdicts (from `drafter.checks.verdicts.judge`); it returns them with the
    undecided ones judged. Calls are counted in `usage.current()` and answers kept in the
    response cache, like the drafter's.
    """

    def __init__(self, settings: Settings, inputs: DraftInputs) -> None:
        self._settings = settings
        self._inputs = inputs
        self._cache = ResponseCache(settings)

    async def __call__(self, verdicts: list[Verdict], plan: Plan) -> list[Verdict]:
        open_ = [v for v in verdicts if undecided(v)]
        if not open_:
            return list(verdicts)
        text = PlanText.of(plan, self._inputs)
        runnable, provider = self._runnable()
        prefix = _prefix(self._inputs)
        limit = asyncio.Semaphore(self._settings.max_concurrency)
        groups = [open_[i : i + BATCH_SIZE] for i in range(0, len(open_), BATCH_SIZE)]
        answers = await asyncio.gather(
            *(self._batch(runnable, provider, prefix, group, text, limit) for group in groups)
        )
        judged = {v.rule.id: v for answer in answers for v in answer}
        return [judged.get(v.rule.id, v) for v in verdicts]

    def _runnable(self) -> tuple[Runnable[Any, Any], str]:
        # Built per call: its HTTP client belongs to the event loop of this check.
        from drafter.drafting.llm import _chat_model, _split_model

        provider, name = _split_model(self._settings.model or "", self._settings.base_url)
        chat = _chat_model(self._settings, provider, name)
        runnable = chat.with_structured_output(
            RuleVerdicts, method="json_schema", strict=True, include_raw=True
        )
        return runnable, provider

    async def _batch(
        self,
        runnable: Runnable[Any, Any],
        provider: str,
        prefix: list[BaseMessage],
        asked: list[Verdict],
        plan: PlanText,
        limit: asyncio.Semaphore,
    ) -> list[Verdict]:
        from langchain_core.messages import HumanMessage

        from drafter.drafting.llm import fence_for, provider_failure

        rules = [v.rule for v in asked]
        request = prompts.render(
            "judge.md.j2", plan=plan.text, fence=fence_for(plan.text), rules=rules
        )
        messages = [*prefix, HumanMessage(request)]
        cached = self._cache.get(CACHE_SECTION, messages)
        if isinstance(cached, RuleVerdicts):
            return verdicts_from(asked, cached, plan)
        record = usage.current()
        if record is not None:
            record.calls += 1
        try:
            async with limit, batch.call_slot():
                result = await runnable.ainvoke(messages)
        except Exception as error:
            failure = provider_failure(error, "", self._settings, provider)
            if failure is None:
                raise  # a bug, not a provider failure: show it
            return [_unjudged(v, str(failure)) for v in asked]
        raw = result["raw"]
        if record is not None and raw.usage_metadata:
            details = raw.usage_metadata.get("input_token_details") or {}
            record.add_tokens(
                raw.usage_metadata["input_tokens"],
                details.get("cache_read", 0),
                raw.usage_metadata["output_tokens"],
            )
        parsed = result["parsed"]
        if result["parsing_error"] is not None or not isinstance(parsed, RuleVerdicts):
            unusable = result["parsing_error"] or ValueError("no JSON in the answer")
            failure = provider_failure(unusable, "", self._settings, provider)
            return [_unjudged(v, str(failure or unusable)) for v in asked]
        self._cache.put(CACHE_SECTION, messages, parsed)
        return verdicts_from(asked, parsed, plan)


def _prefix(inputs: DraftInputs) -> list[BaseMessage]:
    """The drafting requests' shared prefix, byte for byte, so the prompt cache serves it."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from drafter.drafting.llm import context_text

    return [SystemMessage(prompts.render("system.md.j2")), HumanMessage(context_text(inputs))]


def _unjudged(verdict: Verdict, cause: str) -> Verdict:
    return verdict.model_copy(update={"evidence": f"{verdict.evidence}; the judge failed: {cause}"})
