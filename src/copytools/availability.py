"""Which copytools can run here, and why not: what `copytools tools` prints.

The tools' commands are asked for their versions first, all at once, each command once (`gfal` and
`gfalcopy` share one); the copytool classes load while the commands answer. An answer remembered
from an earlier run (`versioncache`) is used while nothing it depends on has changed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator

from . import registry
from .errors import CopytoolsError
from .gfaltool import environment as gfal_environment
from .tool import ToolSettings
from .versioncache import Answer, VersionCache, fingerprint

BINARIES = {"xrdcp": "xrdcp", "gfal": "gfal-copy", "gfalcopy": "gfal-copy", "lsm": "lsm-get"}
PROBE_TIMEOUT = 10.0  # seconds a command is given to print its version


class VersionProbe:
    """`COMMAND --version`, started at once unless its answer is remembered; `result()` waits for it."""

    def __init__(self, binary: str, cache: VersionCache) -> None:
        self.path = shutil.which(binary)
        self.cache = cache
        self.key: str | None = None
        self.process: subprocess.Popen[str] | None = None
        self.answer: Answer | None = None
        if self.path is None:
            self.answer = False, f"{binary} not found on PATH"
            return
        # Run as the tool runs it: gfal-copy's launcher otherwise tries several interpreters (about 0.5 s).
        env = gfal_environment() if binary == BINARIES["gfal"] else None
        self.key = fingerprint(self.path, os.environ if env is None else env)
        self.answer = cache.get(self.path, self.key) if self.key else None
        if self.answer is not None:
            return
        try:
            self.process = subprocess.Popen(
                [self.path, "--version"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        except OSError as exc:
            self.answer = False, f"{self.path} does not run: {exc}"

    def result(self) -> Answer:
        """Whether the command is on PATH and runs, with the first line of its version."""
        if self.answer is None:
            self.answer = self._wait()
            if self.answer[0] and self.path and self.key:
                self.cache.put(self.path, self.key, self.answer)
        return self.answer

    def _wait(self) -> Answer:
        assert self.process is not None  # started, since no answer was known
        try:
            stdout, stderr = self.process.communicate(timeout=PROBE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.close()
            return False, f"{self.path} does not run: no answer to --version in {PROBE_TIMEOUT:g} s"
        version = (stdout or stderr).strip().splitlines()
        return True, f"{self.path} {version[0] if version else ''}".strip()

    def close(self) -> None:
        """Stop the command if it still runs, and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@contextlib.contextmanager
def version_probes(binaries: Iterable[str], cache: VersionCache) -> Iterator[dict[str, VersionProbe]]:
    """Every command's version probe, started now; on exit, those left running are stopped and the
    answers received are remembered."""
    probes: dict[str, VersionProbe] = {}
    try:
        for binary in sorted(set(binaries)):
            probes[binary] = VersionProbe(binary, cache)
        yield probes
    finally:
        for probe in probes.values():
            probe.close()
        cache.save()


def tool_availability(recheck: bool = False) -> list[tuple[str, str, bool, str]]:
    """(name, class, available, why) for every known copytool name; `recheck` asks every command again.

    A command's answer is shown only for a tool whose class loads and says it is available; a tool that
    copies in this process (XRootD's and gfal2's bindings) says so, and names the command it runs instead
    when a queue gives a setup script.
    """
    rows = []
    with version_probes(BINARIES.values(), VersionCache(forget=recheck)) as probes:
        names = registry.known_names()
        for name, target in sorted(names.items()):
            try:
                tool = registry.load(name, names)
            except CopytoolsError as exc:
                rows.append((name, target, False, exc.message))
                continue
            configured = tool.configured(ToolSettings())
            available, why = configured.availability()
            probe = probes.get(BINARIES.get(name, ""))
            if available and probe is not None:
                runs, command = probe.result()
                if configured.in_process:  # the command copies only where a queue's setup script is sourced
                    why = f"{why}, in this process; with a setup script: {command if runs else 'none: ' + command}"
                else:
                    available, why = runs, command
            rows.append((name, target, available, why or "in-process"))
    return rows
