"""Reference tables built from the code at build time: error codes, copytools, the JSON report's fields.

Each table is a directive (`copytools-error-codes`, `copytools-copytools`, `copytools-report-fields`)
that reads the running code, so the published tables cannot drift from it. Anything the code has and
the docs cannot explain (a code without a message, a report field without a description) is a build
warning, which `sphinx -W` turns into a failure.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from copytools import classify, registry, report
from copytools.errors import MESSAGES, CopytoolsError, ErrorCodes
from copytools.filespec import FileSpec
from copytools.tool import Copytool

log = logging.getLogger(__name__)

CAPABILITIES = ("require_replicas", "require_protocols", "in_process", "supports_rename", "reports_progress")

REPORT_FIELDS = {
    "version": "version of the report's format",
    "copytools": "version of copytools that wrote the report",
    "command": "`stage-in` or `stage-out`",
    "activity": "the storage activity of the run (e.g. `pr`, `pw`)",
    "succeeded": "true when every file is transferred, read remotely or needs no transfer",
    "totals": "`files`, `done`, `failed`, `bytes` written and wall-clock `seconds` of the run",
    "files": "one entry per file, with the fields below",
    "lfn": "the file's logical name",
    "scope": "the file's Rucio scope",
    "guid": "the file's GUID from the job description ('' when none)",
    "rse": "the storage (ddmendpoint) of the replica read or the destination written",
    "attempts": "how many attempts were made, over all replicas (0: none needed or possible)",
    "started": "when the file was taken up (UTC, ISO 8601; '' when it was not)",
    "finished": "when its last attempt ended (UTC, ISO 8601)",
    "copytool": "the copytool of the last attempt ('' when none was made)",
    "source": "where the last attempt read from",
    "destination": "where the last attempt wrote to (the TURL when no attempt was made)",
    "bytes": "bytes written (0 unless transferred)",
    "seconds": "duration of the last attempt",
    "checksum": "the file's checksum as `type:value` ('' when unknown)",
    "status": "`transferred`, `remote_io`, `no_transfer`, `failed` or `not_attempted`",
    "error_code": "the pilot error code (0 when done)",
    "state": "the trace state of the last failure, or `DONE`",
    "message": "what went wrong, in words ('' when done)",
}
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


def copytool_class(name: str) -> type[Copytool]:
    """The Copytool class registered under `name`."""
    return registry.load(name)


def copytool_attribute(tool: Any, attribute: str) -> Any:
    """A capability of a copytool, with the `Copytool` default when it does not set it."""
    return getattr(tool, attribute, getattr(Copytool, attribute))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]) -> nodes.table:
    """A docutils table whose cells are literal text."""
    group = nodes.tgroup(cols=len(headers))
    group.extend(nodes.colspec(colwidth=width) for width in widths)
    group += nodes.thead("", _row(headers))
    group += nodes.tbody("", *(_row(row) for row in rows))
    return nodes.table("", group, classes=["copytools-reference"])


def _row(cells: Sequence[str]) -> nodes.row:
    return nodes.row("", *(nodes.entry("", nodes.paragraph(text=cell)) for cell in cells))


def error_codes() -> Iterator[tuple[str, int]]:
    """(name, number) of every pilot error code copytools knows, by number."""
    codes = [(name, value) for name, value in vars(ErrorCodes).items() if name.isupper() and isinstance(value, int)]
    return iter(sorted(codes, key=lambda item: item[1]))


def exception_classes() -> Iterator[type[CopytoolsError]]:
    """`CopytoolsError` and every subclass of it, depth first."""
    pending: list[type[CopytoolsError]] = [CopytoolsError]
    while pending:
        cls = pending.pop(0)
        yield cls
        pending.extend(cls.__subclasses__())


def states_by_code() -> dict[int, set[str]]:
    """The trace states each code appears with: exception defaults and the common classification rules."""
    states: dict[int, set[str]] = {}
    for cls in exception_classes():
        if cls.default_state:
            states.setdefault(cls.default_code, set()).add(cls.default_state)
    for _test, code_in, code_out, state, _prefix in classify._RULES:
        for code in (code_in, code_out):
            states.setdefault(code, set()).add(state)
    return states


def raised_as() -> dict[int, list[str]]:
    """The exception classes whose default code is each code."""
    classes: dict[int, list[str]] = {}
    for cls in exception_classes():
        if cls is not CopytoolsError:
            classes.setdefault(cls.default_code, []).append(cls.__name__)
    return classes


class ErrorCodesTable(SphinxDirective):
    """Every error code: number, name, meaning, trace states, exception classes."""

    def run(self) -> list[nodes.Node]:
        states, classes = states_by_code(), raised_as()
        rows = []
        for name, code in error_codes():
            if code not in MESSAGES:
                log.warning("error code %s (%d) has no message in copytools.errors.MESSAGES", name, code)
            rows.append(
                [
                    str(code),
                    name,
                    MESSAGES.get(code, ""),
                    ", ".join(sorted(states.get(code, ()))),
                    ", ".join(classes.get(code, ())),
                ]
            )
        return [table(["code", "name", "meaning", "states", "exception"], rows, [6, 22, 36, 24, 18])]


class CopytoolsTable(SphinxDirective):
    """Every built-in copytool: its names, module, schemas and capabilities."""

    def run(self) -> list[nodes.Node]:
        names_by_target: dict[str, list[str]] = {}
        for name, target in registry.known_names().items():
            if str(target).startswith("copytools."):
                names_by_target.setdefault(str(target), []).append(name)
        rows = []
        for target, names in names_by_target.items():
            try:
                tool = copytool_class(names[0])
            except CopytoolsError as exc:
                log.warning("copytool %s cannot be described: %s", names[0], exc.message)
                continue
            schemas = copytool_attribute(tool, "allowed_schemas")
            capabilities = [c for c in CAPABILITIES if copytool_attribute(tool, c)]
            rows.append([" / ".join(names), target, ", ".join(schemas) if schemas else "any", ", ".join(capabilities)])
        return [table(["copytool", "class", "schemas", "capabilities"], rows, [14, 28, 30, 28])]


class ReportFieldsTable(SphinxDirective):
    """The fields of the JSON report (`copytools ... --report`), read from a report the code builds."""

    def run(self) -> list[nodes.Node]:
        top = report.build_report("stage-in", "pr", [], [])
        entry = report.file_entry(FileSpec(lfn="example", scope="user.example"), None)
        rows = [self._row(name, name, value) for name, value in top.items()]
        rows += [self._row(f"files[].{name}", name, value) for name, value in entry.items()]
        stale = set(REPORT_FIELDS) - set(top) - set(entry)
        if stale:
            log.warning("report fields described but no longer written: %s", ", ".join(sorted(stale)))
        return [table(["field", "type", "meaning"], rows, [22, 10, 68])]

    @staticmethod
    def _row(label: str, name: str, value: Any) -> list[str]:
        if name not in REPORT_FIELDS:
            log.warning("report field %r has no description in docs/_ext/copytools_tables.py", name)
        kind = list if isinstance(value, report.FileEntries) else type(value)  # written as a JSON array
        return [label, JSON_TYPES.get(kind, kind.__name__), REPORT_FIELDS.get(name, "")]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("copytools-error-codes", ErrorCodesTable)
    app.add_directive("copytools-copytools", CopytoolsTable)
    app.add_directive("copytools-report-fields", ReportFieldsTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
