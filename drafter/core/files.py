"""Writing files so that a crash or a concurrent reader never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (temp file + rename), keeping its permissions.

    The temporary file is unique (mkstemp), so concurrent writers of the same path never
    share one; the last rename wins and every reader sees a whole file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file 0600: give it what the file had, or what a new file would get.
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)  # the only way to read it is to set it
    os.umask(current)
    return current
