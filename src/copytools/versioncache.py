"""Commands' answers to `--version`, remembered between runs while nothing they depend on has changed.

An answer is reused only while its fingerprint holds: the command's file (resolved path, device,
inode, size, modification and change times), the interpreter its `#!` line names, the same of an
interpreter the environment names (`GFAL_PYTHONBIN`), and the environment values that choose what
runs (`PATH`, `LD_LIBRARY_PATH`, `PYTHONPATH`, ...). Answers older than `MAX_AGE` are asked again:
a library upgraded under an unchanged command, or a dispatcher (a pyenv shim) now pointing elsewhere,
shows within that time. A missing, corrupt or unwritable cache is no cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

MAX_AGE = 3600.0  # seconds an answer is trusted
FORMAT = 1
STEERING = ("PATH", "LD_LIBRARY_PATH", "LD_PRELOAD", "PYTHONPATH", "PYTHONHOME", "PYENV_VERSION", "GFAL_PYTHONBIN")
INTERPRETER_VARIABLES = ("GFAL_PYTHONBIN",)

Answer = tuple[bool, str]


def cache_file() -> Path:
    """`$XDG_CACHE_HOME/copytools/versions.json` (`~/.cache/copytools/versions.json`)."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache_home) / "copytools" / "versions.json"


def _identity(path: str) -> list[object]:
    """What changes when the file at `path` is replaced, rewritten or moved (OSError if it cannot be examined)."""
    found = os.stat(path)
    return [os.path.realpath(path), found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns]


def _interpreter(path: str, search_path: str | None) -> str | None:
    """The program a script's `#!` line starts (`#!/usr/bin/env python3` looked up on `search_path`)."""
    with open(path, "rb") as stream:
        line = stream.readline(512)
    if not line.startswith(b"#!"):
        return None
    words = os.fsdecode(line[2:]).split()
    if words and os.path.basename(words[0]) == "env":
        named = next((word for word in words[1:] if not word.startswith("-") and "=" not in word), None)
        return shutil.which(named, path=search_path) if named else words[0]
    return words[0] if words else None


def fingerprint(path: str, env: Mapping[str, str]) -> str | None:
    """What the answer of the command at `path`, run with `env`, depends on; None when it cannot be told."""
    try:
        parts: list[object] = [_identity(path)]
        interpreter = _interpreter(path, env.get("PATH"))
        parts.append(_identity(interpreter) if interpreter else None)
        for name in INTERPRETER_VARIABLES:
            named = env.get(name)
            parts.append(_identity(named) if named and os.path.exists(named) else None)
    except OSError:
        return None
    parts.append({name: env.get(name) for name in STEERING})
    return json.dumps(parts)


class VersionCache:
    """The remembered answers, by command path; `save()` writes them back if any changed.

    `forget` starts from none (every command is asked again; the new answers are kept).
    """

    def __init__(self, file: Path | None = None, forget: bool = False) -> None:
        self.file = file or cache_file()
        self.entries = {} if forget else self._read()
        self.changed = False

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("entries"), dict):
            return {}
        return {path: entry for path, entry in data["entries"].items() if isinstance(entry, dict)}

    def get(self, path: str, key: str) -> Answer | None:
        """The answer remembered for this command and fingerprint, if it is recent enough."""
        entry = self.entries.get(path)
        if entry is None or entry.get("fingerprint") != key:
            return None
        answer, when = entry.get("answer"), entry.get("time")
        if not isinstance(when, int | float) or not 0 <= time.time() - when <= MAX_AGE:
            return None
        if not (isinstance(answer, list) and len(answer) == 2):
            return None
        available, why = answer
        return (available, why) if isinstance(available, bool) and isinstance(why, str) else None

    def put(self, path: str, key: str, answer: Answer) -> None:
        self.entries[path] = {"fingerprint": key, "answer": list(answer), "time": time.time()}
        self.changed = True

    def save(self) -> None:
        """Write the answers back if any changed (atomically); a cache that cannot be written is skipped."""
        if not self.changed:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.file.parent, prefix=".versions-", suffix=".json")
        except OSError:
            return
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"format": FORMAT, "entries": self.entries}, stream)
            os.replace(temporary, self.file)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
