"""Print, as JSON, the signatures of the public functions of the pilot's copytool modules and copytools' seed modules.

    .venv-pilot/bin/python signatures.py mv lsm xrdcp gfal rucio

Executed by the pilot's interpreter (copytools' `src` on PYTHONPATH). For each module, each function defined
in it whose name does not start with `_`: its parameters as [name, kind, default (repr) or null].
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from types import ModuleType
from typing import Any

from runner import MARKER


def functions(module: ModuleType) -> dict[str, list[list[Any]]]:
    found = {}
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module.__name__:
            continue
        found[name] = [
            [p.name, p.kind.name, None if p.default is inspect.Parameter.empty else repr(p.default)]
            for p in inspect.signature(value).parameters.values()
        ]
    return found


def main() -> None:
    result = {}
    for name in sys.argv[1:]:
        result[name] = {
            "pilot": functions(importlib.import_module(f"pilot.copytool.{name}")),
            "copytools": functions(importlib.import_module(f"copytools.tools.{name}")),
        }
    sys.stdout.write("\n" + MARKER + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
