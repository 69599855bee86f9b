"""Editor integration: the files `drafter init` writes, and how they merge with the user's own.

Three kinds of file:
- drafter's own (slash commands, the Neovim compiler and snippet): written when absent, left
  alone when equal to what drafter would write, and kept when they differ (a person edited
  them) unless `force`;
- `.vscode/tasks.json`: JSONC owned by the user; drafter's tasks (matched by label) are added
  by splicing text, so the user's tasks, comments and layout stay byte for byte;
- the editors' MCP configs (`.mcp.json`, `.cursor/mcp.json`, `.vscode/mcp.json`): JSONC owned
  by the user as well; drafter's server entry (named "drafter") is spliced in the same way;
- settings, exrc and ignores (`pyproject.toml`, `drafter.toml`, `.nvim.lua`, `.gitignore`):
  drafter's part is added once when missing; what is there is never rewritten, not even with
  `force`.
Nothing is written until every file has been decided (`changes_for`, then `apply`).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal, NoReturn

from drafter.core.errors import InputError
from drafter.core.files import write_atomic
from drafter.core.resources import data_dir


class Editor(StrEnum):
    vscode = "vscode"
    neovim = "neovim"
    claude = "claude"
    cursor = "cursor"
    copilot = "copilot"


# What, present in the project directory, says the project uses an editor.
DETECT: dict[Editor, tuple[str, ...]] = {
    Editor.vscode: (".vscode",),
    Editor.neovim: (".nvim", ".nvim.lua"),
    Editor.claude: (".claude",),
    Editor.cursor: (".cursor",),
    Editor.copilot: (".github",),
}

# Files that are drafter's own, per editor: (path in the project, template under editors/).
_OWN: dict[Editor, tuple[tuple[str, str], ...]] = {
    Editor.vscode: (),
    Editor.neovim: (
        (".nvim/compiler/drafter.vim", "neovim/compiler/drafter.vim"),
        (".nvim/drafter.lua", "neovim/drafter.lua"),
    ),
    Editor.claude: ((".claude/commands/drafter-plan.md", "claude/drafter-plan.md.j2"),),
    Editor.cursor: ((".cursor/commands/drafter-plan.md", "cursor/drafter-plan.md.j2"),),
    Editor.copilot: (
        (".github/prompts/drafter-plan.prompt.md", "copilot/drafter-plan.prompt.md.j2"),
    ),
}

# Where drafter 0.1 wrote the same commands, as `/plan`, which shadows the editors' built-in
# plan mode: removed on the next init when unedited (same text as the renamed template).
_OLD_NAMES: dict[Editor, tuple[tuple[str, str], ...]] = {
    Editor.claude: ((".claude/commands/plan.md", "claude/drafter-plan.md.j2"),),
    Editor.cursor: ((".cursor/commands/plan.md", "cursor/drafter-plan.md.j2"),),
    Editor.copilot: ((".github/prompts/plan.prompt.md", "copilot/drafter-plan.prompt.md.j2"),),
}

# Where each editor reads project MCP servers: (path, template under editors/, servers key).
MCP_CONFIGS: dict[Editor, tuple[str, str, str]] = {
    Editor.claude: (".mcp.json", "mcp/claude.json", "mcpServers"),
    Editor.cursor: (".cursor/mcp.json", "mcp/cursor.json", "mcpServers"),
    Editor.vscode: (".vscode/mcp.json", "mcp/vscode.json", "servers"),
}
MCP_SERVER_NAME = "drafter"

# Lines of a .gitignore that already keep drafter's cache directory out of the repository.
_IGNORED = {".drafter", ".drafter/", "/.drafter", "/.drafter/", ".drafter/*", "/.drafter/*"}

Action = Literal["wrote", "replaced", "merged", "unchanged", "kept", "refused", "removed"]


@dataclass(frozen=True)
class Change:
    """What init does to one file: `content` is the new text when the file is to be written."""

    path: str  # relative to the project directory, "/"-separated
    action: Action
    detail: str = ""
    content: str | None = field(default=None, repr=False)

    def format(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.action:<9} {self.path}{detail}"


class JsoncError(ValueError):
    """Text that is not JSON with comments and trailing commas (VS Code's settings format)."""

    def __init__(self, message: str, text: str, pos: int) -> None:
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        super().__init__(f"line {line} column {col}: {message}")


def detect(root: Path) -> list[Editor]:
    """The editors whose marker directory or file is present in `root`."""
    return [editor for editor, names in DETECT.items() if any((root / n).exists() for n in names)]


def changes_for(root: Path, editors: Iterable[Editor], force: bool = False) -> list[Change]:
    """Decide, without writing anything, what init does to each file for `editors`."""
    changes: list[Change] = []
    for editor in dict.fromkeys(editors):
        if editor is Editor.vscode:
            changes.append(_tasks_change(root, ".vscode/tasks.json", force))
        changes.extend(_own(root, rel, template, force) for rel, template in _OWN[editor])
        changes.extend(
            change
            for rel, template in _OLD_NAMES.get(editor, ())
            if (change := _old_name(root, rel, template)) is not None
        )
        if editor in MCP_CONFIGS:
            changes.append(_mcp_change(root, *MCP_CONFIGS[editor], force))
        if editor is Editor.neovim:
            # The project-local config Neovim reads (with 'exrc'); it may hold the user's own
            # settings, so drafter only appends the line that loads its snippet.
            changes.append(_append_once(root, ".nvim.lua", _template("neovim/nvim.lua")))
    changes.append(_settings_change(root))
    changes.append(_gitignore_change(root))
    return changes


def apply(root: Path, changes: Sequence[Change]) -> None:
    """Write every change that carries content, each atomically; delete the removed files."""
    for change in changes:
        try:
            if change.action == "removed":
                (root / change.path).unlink(missing_ok=True)
            elif change.content is not None:
                write_atomic(root / change.path, change.content)
        except OSError as error:
            raise InputError(f"cannot write {change.path}: {error.strerror}") from error


# -- templates -------------------------------------------------------------------------------


@cache
def _template(name: str) -> str:
    """The text drafter writes for template `name` under templates/editors/ (.j2 are rendered)."""
    directory = data_dir("templates") / "editors"
    if not name.endswith(".j2"):
        return (directory / name).read_text("utf-8")
    import jinja2  # only init renders these; other commands need not pay for the import

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(name).render()


def _read(path: Path) -> str | None:
    """The file's text, None when absent; unreadable files stop init before anything is written."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not UTF-8 text ({error.reason}); left as it was") from error


def _same(existing: str, wanted: str) -> bool:
    # A checkout with CRLF line endings holds the same file.
    return existing.replace("\r\n", "\n") == wanted


# -- drafter's own files ---------------------------------------------------------------------


def _own(root: Path, rel: str, template: str, force: bool) -> Change:
    wanted = _template(template)
    existing = _read(root / rel)
    if existing is None:
        return Change(rel, "wrote", content=wanted)
    if _same(existing, wanted):
        return Change(rel, "unchanged")
    if force:
        return Change(rel, "replaced", "it differed; --force", content=wanted)
    return Change(rel, "kept", "differs; use --force")


def _old_name(root: Path, rel: str, template: str) -> Change | None:
    """The command drafter once wrote under a name the editor uses itself: removed when it is
    still drafter's text, reported and left when a person edited it."""
    existing = _read(root / rel)
    if existing is None:
        return None
    if _same(existing, _template(template)):
        return Change(rel, "removed", "renamed; /plan is the editor's own command")
    return Change(rel, "kept", "drafter's old name, edited; it shadows the editor's /plan")


def _gitignore_change(root: Path) -> Change:
    """`.drafter/` (the response cache) in .gitignore, appended once, the file made if absent."""
    block = _template("gitignore")
    existing = _read(root / ".gitignore")
    if existing is None:
        return Change(".gitignore", "wrote", content=block)
    if _IGNORED & {line.strip() for line in existing.splitlines()}:
        return Change(".gitignore", "unchanged")
    return Change(".gitignore", "merged", "appended .drafter/", _append(existing, block))


def _append_once(root: Path, rel: str, block: str) -> Change:
    """Append `block` unless its last line (the one that does the work) is already there."""
    existing = _read(root / rel)
    if existing is None:
        return Change(rel, "wrote", content=block)
    key_line = block.rstrip("\n").splitlines()[-1].strip()
    if key_line in (line.strip() for line in existing.splitlines()):
        return Change(rel, "unchanged")
    return Change(rel, "merged", f"appended {key_line}", content=_append(existing, block))


def _append(existing: str, block: str) -> str:
    newline = "\r\n" if "\r\n" in existing else "\n"
    if existing and not existing.endswith("\n"):
        existing += newline
    separator = newline if existing.strip() else ""
    return existing + separator + block.replace("\n", newline)


def _settings_change(root: Path) -> Change:
    """A starter `[tool.drafter]` in pyproject.toml, else drafter.toml, unless settings exist.

    An existing drafter.toml is never replaced, not even with --force: once a key is
    uncommented it holds the user's settings, not drafter's starter.
    """
    body = _template("settings.toml")
    existing = _read(root / "drafter.toml")
    if existing is not None:
        return Change("drafter.toml", "unchanged", "" if _same(existing, body) else "your settings")
    pyproject = _read(root / "pyproject.toml")
    if pyproject is None:
        return Change("drafter.toml", "wrote", content=body)
    try:
        data = tomllib.loads(pyproject)
    except tomllib.TOMLDecodeError as error:
        return Change("pyproject.toml", "refused", f"not valid TOML ({error}); nothing appended")
    if "drafter" in data.get("tool", {}):
        return Change("pyproject.toml", "unchanged", "has [tool.drafter]")
    appended = _append(pyproject, "[tool.drafter]\n" + body)
    return Change("pyproject.toml", "merged", "appended [tool.drafter]", appended)


# -- .vscode/tasks.json ----------------------------------------------------------------------


def _tasks_change(root: Path, rel: str, force: bool) -> Change:
    wanted_file = _template("vscode/tasks.json")
    existing = _read(root / rel)
    if existing is None or not existing.strip():  # an empty file holds nothing to keep
        return Change(rel, "wrote", content=wanted_file)
    wanted: list[dict[str, Any]] = json.loads(wanted_file)["tasks"]
    try:
        return merge_tasks(existing, wanted, force, rel)
    except JsoncError as error:
        return Change(rel, "refused", f"cannot parse it as JSONC, {error}; left as it was")


def merge_tasks(text: str, wanted: Sequence[dict[str, Any]], force: bool, rel: str) -> Change:
    """Splice drafter's `wanted` tasks into tasks.json `text`, matched by label."""
    root = _Parser(text).document()
    if not isinstance(root.value, dict):
        raise JsoncError("the top level is not an object", text, root.start)
    tasks = root.members.get("tasks")
    if tasks is not None and not isinstance(tasks.value, list):
        raise JsoncError('"tasks" is not an array', text, tasks.start)
    by_label: dict[str, _Node] = {}
    for item in tasks.items if tasks is not None else []:
        if isinstance(item.value, dict) and isinstance(item.value.get("label"), str):
            by_label.setdefault(item.value["label"], item)
    edits: list[_Edit] = []
    added: list[dict[str, Any]] = []
    replaced: list[str] = []
    kept: list[str] = []
    for task in wanted:
        node = by_label.get(task["label"])
        if node is None:
            added.append(task)
        elif node.value != task:
            if force:
                indent = _indent_at(text, node.start) or ""
                edits.append(_Edit(node.start, node.end, _render(task, indent, _unit(text))))
                replaced.append(task["label"])
            else:
                kept.append(task["label"])
    if added:
        edits.extend(_insertion(text, root, "tasks", tasks, [(None, task) for task in added]))
    notes = []
    if added:
        notes.append(f"added {_labels(t['label'] for t in added)}")
    if replaced:
        notes.append(f"replaced {_labels(replaced)}, which differed; --force")
    if kept:
        many = len(kept) > 1
        notes.append(f"{'tasks' if many else 'task'} {_labels(kept)} differ{'' if many else 's'}")
        notes.append("use --force")
    detail = "; ".join(notes)
    if not edits:
        return Change(rel, "kept" if kept else "unchanged", detail)
    return Change(rel, "merged", detail, content=_edited(text, edits))


def _edited(text: str, edits: Sequence[_Edit]) -> str:
    # From the end backwards, so earlier offsets stay valid; at one offset, the edit that must
    # come first in the text is applied last.
    newline = "\r\n" if "\r\n" in text else "\n"
    for edit in sorted(edits, key=lambda e: (e.start, e.order), reverse=True):
        text = text[: edit.start] + edit.text.replace("\n", newline) + text[edit.end :]
    return text


# -- MCP server configs ----------------------------------------------------------------------


def _mcp_change(root: Path, rel: str, template: str, key: str, force: bool) -> Change:
    wanted_file = _template(template)
    existing = _read(root / rel)
    if existing is None or not existing.strip():
        return Change(rel, "wrote", content=wanted_file)
    wanted = json.loads(wanted_file)[key][MCP_SERVER_NAME]
    try:
        return merge_server(existing, key, MCP_SERVER_NAME, wanted, force, rel)
    except JsoncError as error:
        return Change(rel, "refused", f"cannot parse it as JSONC, {error}; left as it was")


def merge_server(
    text: str, key: str, name: str, entry: dict[str, Any], force: bool, rel: str
) -> Change:
    """Splice server `name` into the `key` object of an MCP config `text` (JSONC)."""
    root = _Parser(text).document()
    if not isinstance(root.value, dict):
        raise JsoncError("the top level is not an object", text, root.start)
    servers = root.members.get(key)
    if servers is not None and not isinstance(servers.value, dict):
        raise JsoncError(f'"{key}" is not an object', text, servers.start)
    node = servers.members.get(name) if servers is not None else None
    if node is None:
        edits = _insertion(text, root, key, servers, [(name, entry)])
        return Change(rel, "merged", f'added server "{name}"', content=_edited(text, edits))
    if node.value == entry:
        return Change(rel, "unchanged")
    if not force:
        return Change(rel, "kept", f'server "{name}" differs; use --force')
    indent = _line_indent(text, node.start)
    edit = _Edit(node.start, node.end, _render(entry, indent, _unit(text)))
    detail = f'replaced server "{name}", which differed; --force'
    return Change(rel, "merged", detail, content=_edited(text, [edit]))


def _labels(labels: Iterable[str]) -> str:
    return ", ".join(f'"{label}"' for label in labels)


@dataclass(frozen=True)
class _Edit:
    """Replace text[start:end] with `text`."""

    start: int
    end: int
    text: str
    order: int = 1  # at one offset, order 0 lands before order 1


def _insertion(
    text: str,
    root: _Node,
    key: str,
    container: _Node | None,
    added: Sequence[tuple[str | None, Any]],
) -> list[_Edit]:
    """Edits that add `added` at the end of root's member `key` (created when absent): array
    items (name None) or object members (name, value)."""
    unit = _unit(text)
    members = any(name is not None for name, _ in added)

    def entries(inner: str) -> str:
        return ",".join(
            f"\n{inner}{'' if name is None else json.dumps(name) + ': '}"
            f"{_render(value, inner, unit)}"
            for name, value in added
        )

    outer = _line_indent(text, (container or root).start)
    if container is not None:
        first = _indent_at(text, container.items[0].start) if container.items else None
        body = entries(first or _member_indent(text, container) or outer + unit)
    else:
        member_indent = _member_indent(text, root) or unit
        opening, closing = "{}" if members else "[]"
        body = (
            f"\n{member_indent}{json.dumps(key)}: {opening}{entries(member_indent + unit)}"
            f"\n{member_indent}{closing}"
        )
    container = container or root
    edits: list[_Edit] = []
    if container.items and not container.trailing_comma:
        last = container.items[-1].end
        edits.append(_Edit(last, last, ",", order=0))
    close = container.end - 1
    at = close
    while at > container.start + 1 and text[at - 1] in " \t\r\n":
        at -= 1
    if "\n" not in text[at:close]:
        body += "\n" + (outer if container is not root else "")
    edits.append(_Edit(at, at, body))
    return edits


def _render(task: dict[str, Any], indent: str, unit: str) -> str:
    return json.dumps(task, indent=unit, ensure_ascii=False).replace("\n", "\n" + indent)


def _unit(text: str) -> str:
    """The file's indentation step: a tab, or the smallest run of leading spaces."""
    widths = []
    for line in text.splitlines():
        stripped = line.lstrip(" \t")
        if not stripped or stripped == line:
            continue
        if line.startswith("\t"):
            return "\t"
        widths.append(len(line) - len(stripped))
    return " " * min(widths) if widths else "  "


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _line_indent(text: str, pos: int) -> str:
    """The leading whitespace of the line `pos` is on."""
    line = text[_line_start(text, pos) : pos]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _member_indent(text: str, node: _Node) -> str | None:
    """The indentation of `node`'s first entry when that entry starts a line of its own."""
    if not node.items or _line_start(text, node.items[0].start) <= node.start:
        return None
    return _line_indent(text, node.items[0].start)


def _indent_at(text: str, pos: int) -> str | None:
    """The whitespace before `pos` on its line, or None when other text precedes it there."""
    prefix = text[_line_start(text, pos) : pos]
    return prefix if not prefix.strip(" \t") else None


@dataclass
class _Node:
    """A parsed JSONC value and where it lies in the text (`end` is exclusive)."""

    value: Any
    start: int
    end: int
    members: dict[str, _Node] = field(default_factory=dict)  # objects: member values by key
    items: list[_Node] = field(default_factory=list)  # arrays: elements; objects: member values
    trailing_comma: bool = False


class _Parser:
    """JSON plus // and /* */ comments and trailing commas, keeping every value's span."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def document(self) -> _Node:
        self._skip()
        node = self._value()
        self._skip()
        if self.pos != len(self.text):
            self._fail("unexpected text after the end")
        return node

    def _fail(self, message: str) -> NoReturn:
        raise JsoncError(message, self.text, self.pos)

    def _skip(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r\n\ufeff":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    self._fail("unclosed /* comment")
                self.pos = end + 2
            else:
                return

    def _value(self) -> _Node:
        start = self.pos
        char = self.text[start : start + 1]
        if char == "{":
            return self._container(start, "}")
        if char == "[":
            return self._container(start, "]")
        if char == '"':
            return _Node(self._string(), start, self.pos)
        match = _SCALAR.match(self.text, start)
        if match is None:
            self._fail("expected a value")
        self.pos = match.end()
        return _Node(json.loads(match.group()), start, self.pos)

    def _string(self) -> str:
        match = _STRING.match(self.text, self.pos)
        if match is None:
            self._fail("unterminated or malformed string")
        self.pos = match.end()
        value: str = json.loads(match.group())
        return value

    def _container(self, start: int, close: str) -> _Node:
        is_object = close == "}"
        node = _Node({} if is_object else [], start, start)
        self.pos += 1
        while True:
            self._skip()
            if self.text.startswith(close, self.pos):
                break
            if node.items and not node.trailing_comma:
                self._fail(f"expected ',' or '{close}'")
            if is_object:
                if not self.text.startswith('"', self.pos):
                    self._fail("expected a member name in double quotes")
                key = self._string()
                self._skip()
                if not self.text.startswith(":", self.pos):
                    self._fail("expected ':'")
                self.pos += 1
                self._skip()
                child = self._value()
                node.members.setdefault(key, child)
                node.value.setdefault(key, child.value)
            else:
                child = self._value()
                node.value.append(child.value)
            node.items.append(child)
            self._skip()
            node.trailing_comma = self.text.startswith(",", self.pos)
            if node.trailing_comma:
                self.pos += 1
        self.pos += 1
        node.end = self.pos
        return node


_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")
