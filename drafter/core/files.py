"""Reading and writing drafter's files: one atomic writer (plans, editor files, the response
cache, cassettes, kept sections), and a careful reader for an existing plan."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from drafter.core.errors import InputError

# A plan larger than this is not one drafter wrote (specs have a limit of their own).
MAX_PLAN_BYTES = 8 * 1024 * 1024


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (temp file + rename), keeping its permissions.

    The temporary file is unique (O_EXCL), so concurrent writers of the same path never share
    one; the last rename wins and every reader sees a whole file. A new file gets the mode the
    process umask gives (the kernel applies it to O_CREAT: nothing reads or sets the umask).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.stat().st_mode & 0o7777 if path.exists() else None
    temporary, handle = _create_unique(path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        if existing is not None:
            os.chmod(temporary, existing)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _create_unique(path: Path) -> tuple[Path, int]:
    for _ in range(100):
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def read_plan(path: Path) -> str | None:
    """The text of the plan at `path`, None when there is none.

    Refuses (InputError, exit 2) what is not a regular file (a device, a pipe: `-o /dev/full`
    would be read forever), a file too large to be a plan, and one that cannot be read.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path} is not a regular file; give a file path for the plan")
    if info.st_size > MAX_PLAN_BYTES:
        raise InputError(
            f"{path} is {info.st_size:,} bytes, larger than any plan drafter writes "
            f"({MAX_PLAN_BYTES:,}); refusing to read or overwrite it"
        )
    try:
        return path.read_text("utf-8", errors="replace")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error
