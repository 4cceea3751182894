"""Run one of the pilot's own unittest modules, optionally with copytools' seed module in its copytool's place.

    .venv-pilot/bin/python pilot_unittests.py <copytool> <pilot|copytools> <test module>

Executed by the pilot's interpreter (copytools' `src` on PYTHONPATH). Prints a marker line and JSON:
per test id, "pass", or the failure/error with the exception class and the pilot error code it carries.
"""

from __future__ import annotations

import json
import sys
import unittest
from typing import Any

from runner import MARKER, substitute


class Recorder(unittest.TestResult):
    """Keeps every test's outcome, and for errors the exception itself (class and pilot code)."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, dict[str, Any]] = {}

    def addSuccess(self, test: unittest.TestCase) -> None:
        self.outcomes[test.id()] = {"outcome": "pass"}

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        super().addError(test, err)
        self.outcomes[test.id()] = self.describe("error", err)

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        self.outcomes[test.id()] = self.describe("fail", err)

    @staticmethod
    def describe(outcome: str, err: Any) -> dict[str, Any]:
        exc = err[1]
        code = exc.get_error_code() if hasattr(exc, "get_error_code") else None
        kind = f"{type(exc).__module__}.{type(exc).__name__}"
        return {"outcome": outcome, "class": kind, "code": code, "message": str(exc)[:300]}


def main() -> None:
    copytool, impl, module = sys.argv[1:4]
    if impl == "copytools":
        substitute(copytool)
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    result = Recorder()
    suite.run(result)
    sys.stdout.write("\n" + MARKER + json.dumps(result.outcomes) + "\n")


if __name__ == "__main__":
    main()
