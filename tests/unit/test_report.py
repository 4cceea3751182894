"""The JSON report: entries made when read, written item by item exactly as `json.dump(indent=2)` writes."""

from __future__ import annotations

import json
import os

from copytools.engine import Outcome
from copytools.filespec import FileSpec, mark_done, mark_failed
from copytools.report import SpooledReport, build_report, file_entry, write_report


def _run() -> tuple[list[FileSpec], list[Outcome]]:
    done, failed, untried = FileSpec(lfn="a", checksum={"adler32": "0000abcd"}), FileSpec(lfn="b"), FileSpec(lfn="c")
    mark_done(done)
    mark_failed(failed, 1099, "COPY_ERROR", 'no "luck"\nat all')
    first_try = Outcome(done, "posix", bytes=5, attempts=1, status="failed")
    last_try = Outcome(done, "mv", source="s", destination="d", bytes=7, attempts=2, seconds=0.5, started_at=1e9)
    return [done, failed, untried], [first_try, last_try, Outcome(failed, "mv", status="failed")]


def test_entries_are_the_files_in_order_with_their_last_outcome() -> None:
    files, outcomes = _run()
    report = build_report("stage-in", "pr", files, outcomes, 1.23456)
    entries = report["files"]
    assert len(entries) == 3 and [e["lfn"] for e in entries] == ["a", "b", "c"]
    assert entries[0] == file_entry(files[0], outcomes[1]) and entries[0]["copytool"] == "mv"
    assert entries[-1]["status"] == "not_attempted" and entries[1:][0]["error_code"] == 1099
    assert report["totals"] == {"files": 3, "done": 1, "failed": 2, "bytes": 7, "seconds": 1.235}
    assert not report["succeeded"]


def test_entries_show_the_files_as_they_are_when_read() -> None:
    files, outcomes = _run()
    report = build_report("stage-in", "pr", files, outcomes)
    mark_done(files[2], "no_transfer")
    assert next(iter(report["files"][2:]))["status"] == "no_transfer"


def test_the_written_report_is_the_indented_json_of_the_whole(tmp_path) -> None:
    files, outcomes = _run()
    cases = [
        build_report("stage-in", "pr", files, outcomes, 2.0),
        build_report("stage-out", "pw", [], []),
        {"command": "stage-in", "dry_run": True, "plan": [{"lfn": "a", "why": ["x", {"y": []}]}, {}]},
        {},
    ]
    for n, report in enumerate(cases):
        path = tmp_path / f"report{n}.json"
        write_report(str(path), report)
        whole = {k: list(v) if k in ("files", "plan") else v for k, v in report.items()}
        assert path.read_text(encoding="utf-8") == json.dumps(whole, indent=2) + "\n"


def test_a_spooled_report_is_the_report_of_all_its_batches(tmp_path) -> None:
    files, outcomes = _run()
    spool = SpooledReport(str(tmp_path))
    first = spool.add(files[:1], outcomes[:2])
    spool.add(files[1:], outcomes[2:])
    spooled, whole = spool.report("stage-in", "pr", 2.0), build_report("stage-in", "pr", files, outcomes, 2.0)
    assert first == [file_entry(files[0], outcomes[1])] and os.listdir(tmp_path) == []  # the spool has no name
    assert len(spooled["files"]) == 3 and list(spooled["files"]) == list(whole["files"])  # read again at each pass
    write_report(str(tmp_path / "spooled.json"), spooled)
    write_report(str(tmp_path / "whole.json"), whole)
    assert (tmp_path / "spooled.json").read_text() == (tmp_path / "whole.json").read_text()
    spool.close()
