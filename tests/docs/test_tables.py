"""The docs' reference tables read the code: copytools by registry name, every error code, every report field."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))

import copytools_tables as tables

from copytools import registry, report
from copytools.errors import MESSAGES, ErrorCodes
from copytools.filespec import FileSpec
from copytools.tool import Copytool


class WebDav(Copytool):
    name = "webdav"
    allowed_schemas = ("davs", "https")
    supports_rename = True


def test_copytool_lookup_accepts_a_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "load", lambda name: WebDav)
    tool = tables.copytool_class("webdav")
    assert tool is WebDav
    assert tables.copytool_attribute(tool, "allowed_schemas") == ("davs", "https")
    assert tables.copytool_attribute(tool, "in_process") is False


def test_the_mv_row_reads_the_class() -> None:
    mv = tables.copytool_class("mv")
    assert tables.copytool_attribute(mv, "require_replicas") is False
    assert tables.copytool_attribute(mv, "allowed_schemas") is None


def test_every_error_code_is_listed_with_a_message() -> None:
    listed = dict(tables.error_codes())
    assert listed["MISSINGINPUTFILE"] == ErrorCodes.MISSINGINPUTFILE
    assert set(listed.values()) == set(MESSAGES)
    assert list(listed.values()) == sorted(listed.values())


def test_states_come_from_exceptions_and_classification_rules() -> None:
    states = tables.states_by_code()
    assert "MISSING_INPUT" in states[ErrorCodes.MISSINGINPUTFILE]  # a classification rule
    assert "NO_REPLICA" in states[ErrorCodes.NOREPLICAS]  # ReplicasNotFound.default_state
    assert "ReplicasNotFound" in tables.raised_as()[ErrorCodes.NOREPLICAS]


def test_every_report_field_is_described() -> None:
    top = report.build_report("stage-in", "pr", [], [])
    entry = report.file_entry(FileSpec(lfn="x"), None)
    assert set(tables.REPORT_FIELDS) == set(top) | set(entry)
