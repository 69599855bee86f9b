"""The small condition language of `drafter-rules` blocks, over the plan model.

    exists(api.endpoints[*].path)
    count(components.components) <= 5
    all(steps.phases[*].estimate) matches "\\d"
    any(architecture.stack[*].technology) contains "pytest"
    none(dependencies.external[*].name) == "left-pad"
    exists(database.database) or exists(database.not_applicable_reason)

A tiny recursive-descent parser builds a tree; evaluation walks the plan's data. Nothing the
user writes is ever executed as Python. Paths are checked against the `Plan` model when the
condition is compiled, so a misspelt field is reported with the constitution's line, not
discovered later. The grammar and the meaning of each form are documented in docs/rules.md.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union

from pydantic import BaseModel

from drafter.model.plan import Plan


class SelectorError(ValueError):
    """A condition that does not parse, or names a field the plan model does not have."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column


# --- tokens ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|==|!=|<|>)
      | (?P<star>\[\*\])
      | (?P<punct>[().])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.X,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int  # 1-based


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = _TOKEN.match(source, position)
        if not match or match.end() == position:
            column = position + 1 + len(source[position:]) - len(source[position:].lstrip())
            raise SelectorError(f"unexpected character {source[column - 1]!r}", column)
        kind = match.lastgroup or ""
        text = match.group(kind)
        tokens.append(_Token(kind, text, match.start(kind) + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(source) + 1))
    return tokens


def _unquote(text: str) -> str:
    # Only \" and \\ are escapes, so regular expressions such as "\d" need no doubling.
    return re.sub(r"\\([\"\\])", r"\1", text[1:-1])


# --- tree ----------------------------------------------------------------------------------------

Scalar = str | float | bool | None
Quantifier = Literal["all", "any", "none"]


@dataclass(frozen=True)
class Path:
    steps: tuple[str, ...]  # field names and "*" for `[*]`
    text: str


@dataclass(frozen=True)
class Predicate:
    op: str  # contains, matches, ==, !=, <, <=, >, >=
    value: Scalar
    pattern: re.Pattern[str] | None

    def __str__(self) -> str:
        shown = f'"{self.value}"' if isinstance(self.value, str) else _show(self.value)
        return f"{self.op} {shown}"

    def holds(self, value: object) -> bool:
        if self.op == "contains":
            return str(self.value).casefold() in _text(value).casefold()
        if self.op == "matches":
            assert self.pattern is not None
            return self.pattern.search(_text(value)) is not None
        if self.op in ("==", "!="):
            same = value == self.value
            return same if self.op == "==" else not same
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return _COMPARE[self.op](float(value), typing.cast(float, self.value))


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Test:
    function: Literal["exists", "count", "all", "any", "none"]
    path: Path
    predicate: Predicate | None


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    operands: tuple[Node, ...]


Node = Test | Not | BoolOp


@dataclass(frozen=True)
class Selector:
    source: str
    tree: Node

    def evaluate(self, plan: Plan) -> tuple[bool, str]:
        """(holds, evidence) for this condition over `plan`."""
        return _evaluate(self.tree, plan.model_dump(mode="json"))


# --- parser --------------------------------------------------------------------------------------

_FUNCTIONS = ("exists", "count", "all", "any", "none")
_KEYWORDS = frozenset(("and", "or", "not", "contains", "matches", "true", "false", "null"))


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokens(source)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self, kind: str, text: str | None = None) -> _Token:
        token = self.current
        if token.kind != kind or (text is not None and token.text != text):
            wanted = repr(text) if text else kind
            found = repr(token.text) if token.text else "end of condition"
            raise SelectorError(f"expected {wanted}, found {found}", token.column)
        self.index += 1
        return token

    def accept(self, kind: str, text: str) -> bool:
        if self.current.kind == kind and self.current.text == text:
            self.index += 1
            return True
        return False

    def condition(self) -> Node:
        operands = [self.term()]
        while self.accept("name", "or"):
            operands.append(self.term())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def term(self) -> Node:
        operands = [self.factor()]
        while self.accept("name", "and"):
            operands.append(self.factor())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def factor(self) -> Node:
        if self.accept("name", "not"):
            return Not(self.factor())
        if self.accept("punct", "("):
            inner = self.condition()
            self.take("punct", ")")
            return inner
        return self.test()

    def test(self) -> Test:
        token = self.current
        if token.kind != "name" or token.text not in _FUNCTIONS:
            found = repr(token.text) if token.text else "end of condition"
            raise SelectorError(
                f"expected one of {', '.join(_FUNCTIONS)}, found {found}", token.column
            )
        self.index += 1
        function = typing.cast(Literal["exists", "count", "all", "any", "none"], token.text)
        self.take("punct", "(")
        path = self.path()
        self.take("punct", ")")
        if function == "exists":
            return Test(function, path, None)
        predicate = self.predicate(numeric_only=function == "count")
        return Test(function, path, predicate)

    def path(self) -> Path:
        start = self.current.column
        steps = [self.field()]
        while True:
            if self.accept("star", "[*]"):
                steps.append("*")
            elif self.accept("punct", "."):
                steps.append(self.field())
            else:
                break
        end = self.current.column
        text = self.source[start - 1 : end - 1].strip()
        _check_path(steps, start)
        return Path(tuple(steps), text)

    def field(self) -> str:
        token = self.take("name")
        if token.text in _KEYWORDS or token.text in _FUNCTIONS:
            raise SelectorError(f"expected a field name, found {token.text!r}", token.column)
        return token.text

    def predicate(self, numeric_only: bool) -> Predicate:
        token = self.current
        if token.kind == "op":
            self.index += 1
            value = self.literal()
            if token.text not in ("==", "!=") and not isinstance(value, float):
                raise SelectorError(f"{token.text} needs a number", token.column)
            if numeric_only and not isinstance(value, float):
                raise SelectorError("count() compares with a number", token.column)
            return Predicate(token.text, value, None)
        if numeric_only:
            raise SelectorError("count() must be compared: count(path) <= N", token.column)
        if token.kind == "name" and token.text in ("contains", "matches"):
            self.index += 1
            string = self.take("string")
            value = _unquote(string.text)
            pattern = None
            if token.text == "matches":
                try:
                    pattern = re.compile(value)
                except re.error as error:
                    raise SelectorError(f"bad regular expression: {error}", string.column) from None
            return Predicate(token.text, value, pattern)
        found = repr(token.text) if token.text else "end of condition"
        raise SelectorError(
            f"expected contains, matches or a comparison (== != < <= > >=), found {found}",
            token.column,
        )

    def literal(self) -> Scalar:
        token = self.current
        self.index += 1
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "number":
            return float(token.text)
        if token.kind == "name" and token.text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.text]
        self.index -= 1
        found = repr(token.text) if token.text else "end of condition"
        raise SelectorError(
            f"expected a string, number, true, false or null, found {found}", token.column
        )


def compile_selector(source: str) -> Selector:
    """Parse and check a condition; raises SelectorError with the column of the fault."""
    parser = _Parser(source)
    tree = parser.condition()
    if parser.current.kind != "end":
        raise SelectorError(f"unexpected {parser.current.text!r}", parser.current.column)
    return Selector(source, tree)


# --- static path check against the plan model ----------------------------------------------------


def _unwrap(annotation: object) -> object:
    """`X | None` → X."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _check_path(steps: list[str], column: int) -> None:
    current: object = Plan
    for step in steps:
        current = _unwrap(current)
        if step == "*":
            if typing.get_origin(current) is not list:
                raise SelectorError("[*] follows a field that is not a list", column)
            current = typing.get_args(current)[0]
            continue
        while typing.get_origin(current) is list:  # a field of a list is taken from each item
            current = _unwrap(typing.get_args(current)[0])
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            raise SelectorError(f"{step!r}: the value before it has no fields", column)
        if step not in current.model_fields:
            known = ", ".join(current.model_fields)
            raise SelectorError(
                f"{current.__name__} has no field {step!r} (it has: {known})", column
            )
        current = current.model_fields[step].annotation


# --- evaluation --------------------------------------------------------------------------------


def _walk(data: object, steps: tuple[str, ...]) -> list[Any]:
    values: list[Any] = [data]
    for step in steps:
        if step == "*":
            values = [item for value in values if isinstance(value, list) for item in value]
            continue
        found: list[Any] = []
        for value in values:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and item.get(step) is not None:
                    found.append(item[step])
        values = found
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _text(value: object) -> str:
    """A value as text: objects by their string leaves, so `contains` can search them."""
    if isinstance(value, dict):
        return " ".join(_text(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return "" if value is None else _show(value)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return "null"
    return str(value)


def _brief(value: object) -> str:
    text = _text(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _present(value: object) -> bool:
    return value not in ("", [], {}) and not (isinstance(value, str) and not value.strip())


def _evaluate(node: Node, data: object) -> tuple[bool, str]:
    if isinstance(node, Not):
        ok, evidence = _evaluate(node.operand, data)
        return not ok, f"not ({evidence})"
    if isinstance(node, BoolOp):
        results = [_evaluate(operand, data) for operand in node.operands]
        if node.op == "and":
            failed = [evidence for ok, evidence in results if not ok]
            return (not failed), "; ".join(failed or [e for _, e in results])
        passed = [evidence for ok, evidence in results if ok]
        return bool(passed), "; ".join(passed or [e for _, e in results])
    values = [v for v in _walk(data, node.path.steps) if _present(v)]
    path = node.path.text
    if node.function == "exists":
        if values:
            return True, f"{path} has {len(values)} value(s), e.g. {_brief(values[0])}"
        return False, f"{path} is empty"
    predicate = node.predicate
    assert predicate is not None
    if node.function == "count":
        ok = predicate.holds(float(len(values)))
        return ok, f"count({path}) is {len(values)}, required {predicate}"
    matching = [v for v in values if predicate.holds(v)]
    if node.function == "any":
        if matching:
            return True, f"{path}: {_brief(matching[0])} {predicate}"
        return False, f"no value of {path} {predicate} ({len(values)} checked)"
    if node.function == "none":
        if matching:
            return False, f"{path}: {_brief(matching[0])} {predicate}"
        return True, f"no value of {path} {predicate} ({len(values)} checked)"
    # all(): an empty path is not evidence of anything, so it does not hold.
    if not values:
        return False, f"{path} is empty (all() needs at least one value)"
    failing = [v for v in values if not predicate.holds(v)]
    if failing:
        return False, f"{path}: {_brief(failing[0])} does not satisfy {predicate}"
    return True, f"all {len(values)} value(s) of {path} {predicate}"
