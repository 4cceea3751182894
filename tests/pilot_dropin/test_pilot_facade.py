"""copytools.tools._pilot against the real pilot classes (its exceptions, FileSpec, TraceReport, data API).

unittest-style so that the pilot's own interpreter (.venv-pilot, which has no pytest) runs it:
`test_under_the_pilot.py` does that from pytest. Under an interpreter without the pilot, the tests that
need it are skipped and the no-pilot behaviour is tested instead.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import unittest
from dataclasses import dataclass
from typing import Any

from copytools.errors import CopytoolsError
from copytools.filespec import FileSpec
from copytools.tools._pilot import (
    PilotTraces,
    TraceStyle,
    apply_outcome,
    pilot_error,
    raises_pilot_errors,
    send_trace,
    trace_state,
)

HAVE_PILOT = importlib.util.find_spec("pilot") is not None
needs_pilot = unittest.skipUnless(HAVE_PILOT, "the PanDA pilot is not importable here")


@dataclass
class Result:
    status: str = "transferred"
    code: int = 0
    state: str = ""
    message: str = ""


def failure(code: int, state: str = "", message: str = "it broke") -> Result:
    return Result("failed", code, state, message)


def pilot_filespec(**data: Any) -> Any:
    from pilot.info.filespec import FileSpec as PilotFileSpec

    return PilotFileSpec(**data)


def recording_report(sent: list[dict[str, Any]]) -> Any:
    """The pilot's TraceReport whose send() records a copy instead of calling curl."""
    from pilot.util.tracereport import TraceReport

    class Recording(TraceReport):  # type: ignore[misc]
        def send(self) -> bool:
            sent.append(dict(self))
            return True

    return Recording(pq="PQ", localSite="", remoteSite="", eventType="get_sm")


@needs_pilot
class PilotErrorWithThePilot(unittest.TestCase):
    def test_a_code_with_its_own_class_gets_that_class(self) -> None:
        from pilot.common import exception as pe

        for code, cls in (
            (1099, pe.StageInFailure),
            (1137, pe.StageOutFailure),
            (1199, pe.MKDirFailure),
            (1326, pe.ReplicasNotFound),
            (1098, pe.NoLocalSpace),
            (1168, pe.SizeTooLarge),
        ):
            error = pilot_error(CopytoolsError("the details", code=code))
            self.assertIs(type(error), cls)
            self.assertEqual(error.get_error_code(), code)
            self.assertIn("the details", str(error))

    def test_any_other_code_travels_in_a_pilot_exception_with_its_state(self) -> None:
        from pilot.common.exception import PilotException

        error = pilot_error(CopytoolsError("replica gone", code=1331, state="MISSING_INPUT"))
        self.assertIs(type(error), PilotException)
        self.assertEqual(error.get_error_code(), 1331)
        self.assertEqual(error.kwargs["state"], "MISSING_INPUT")
        self.assertEqual(error.get_last_error(), "replica gone")

    def test_the_data_api_reports_the_specific_code(self) -> None:
        """A copytool raising pilot_error(...) makes StageInClient.transfer fail with that code, not 1099."""
        from pilot.api.data import StageInClient
        from pilot.common.exception import PilotException
        from pilot.info.queuedata import QueueData

        fake = types.ModuleType("pilot.copytool.mv")
        fake.require_replicas = False  # type: ignore[attr-defined]
        fake.check_availablespace = False  # type: ignore[attr-defined]
        fake.is_valid_for_copy_in = lambda files: True  # type: ignore[attr-defined]

        def copy_in(files: list[Any], **kwargs: Any) -> list[Any]:
            raise pilot_error(CopytoolsError("replica gone", code=1331, state="MISSING_INPUT"))

        fake.copy_in = copy_in  # type: ignore[attr-defined]
        infosys = types.SimpleNamespace(
            queuedata=QueueData({"copytools": {"mv": {}}, "acopytools": {"pr": ["mv"]}, "astorages": {}}),
            resolve_storage_data=lambda ddmendpoints=None: {},
        )
        saved = sys.modules.get("pilot.copytool.mv")
        sys.modules["pilot.copytool.mv"] = fake
        try:
            client = StageInClient(infosys, trace_report=recording_report([]))
            with self.assertRaises(PilotException) as caught:
                client.transfer([pilot_filespec(lfn="a.root", scope="mc")], activity="pr", workdir="/nonexistent")
        finally:
            if saved is None:
                del sys.modules["pilot.copytool.mv"]
            else:
                sys.modules["pilot.copytool.mv"] = saved
        self.assertEqual(caught.exception.get_error_code(), 1331)


class PilotErrorWithoutThePilot(unittest.TestCase):
    @unittest.skipIf(HAVE_PILOT, "the pilot is importable here")
    def test_our_error_is_raised_unchanged(self) -> None:
        error = CopytoolsError("x", code=1331)
        self.assertIs(pilot_error(error), error)


class RaisesPilotErrors(unittest.TestCase):
    def test_a_copytools_error_leaves_as_the_pilots_when_it_is_there(self) -> None:
        @raises_pilot_errors
        def copy_in(files: list[Any], **kwargs: Any) -> list[Any]:
            raise CopytoolsError("replica gone", code=1331, state="MISSING_INPUT")

        with self.assertRaises(Exception) as caught:
            copy_in([], workdir="/w")
        if HAVE_PILOT:
            from pilot.common.exception import PilotException

            self.assertIsInstance(caught.exception, PilotException)
            self.assertIsInstance(caught.exception.__cause__, CopytoolsError)
        else:
            self.assertIs(type(caught.exception), CopytoolsError)
        self.assertEqual(caught.exception.get_error_code(), 1331)  # type: ignore[attr-defined]

    def test_other_exceptions_and_results_pass_through(self) -> None:
        @raises_pilot_errors
        def copy_out(files: list[Any], **kwargs: Any) -> list[Any]:
            if not files:
                raise ValueError("no files")
            return files

        self.assertEqual(copy_out([1], workdir="/w"), [1])
        with self.assertRaises(ValueError):
            copy_out([])


class ApplyOutcome(unittest.TestCase):
    def check_failure(self, fspec: Any) -> None:
        fspec.checksum = {"adler32": "0badc0de"}
        apply_outcome(fspec, failure(1171, "AD_MISMATCH"), checksums={"adler32": "12345678"}, turl="root://x//y")
        self.assertEqual((fspec.status, fspec.status_code), ("failed", 1171))
        self.assertEqual(fspec.checksum, {"adler32": "0badc0de"})

    def check_success(self, fspec: Any) -> None:
        fspec.checksum = {"md5": "0" * 32}
        fspec.status_code = 1099  # from an earlier copytool
        apply_outcome(
            fspec, Result(), checksums={"adler32": "12345678", "md5": "f" * 32}, turl="root://h//f", filesize=9
        )
        self.assertEqual((fspec.status, fspec.status_code), ("transferred", 0))
        self.assertEqual(fspec.checksum, {"md5": "0" * 32, "adler32": "12345678"})
        self.assertEqual((fspec.turl, fspec.filesize), ("root://h//f", 9))
        apply_outcome(fspec, Result(), filesize=12)
        self.assertEqual(fspec.filesize, 9)  # a known size is kept

    def test_on_copytools_file_specs(self) -> None:
        self.check_failure(FileSpec(lfn="a"))
        self.check_success(FileSpec(lfn="a"))

    @needs_pilot
    def test_on_the_pilots_file_specs(self) -> None:
        self.check_failure(pilot_filespec(lfn="a"))
        self.check_success(pilot_filespec(lfn="a"))

    @needs_pilot
    def test_the_pilots_shared_default_checksum_is_not_written_into(self) -> None:
        from pilot.info.filespec import FileSpec as PilotFileSpec

        fspec = pilot_filespec(lfn="a")
        apply_outcome(fspec, Result(), checksums={"adler32": "12345678"})
        self.assertEqual(fspec.checksum, {"adler32": "12345678"})
        self.assertEqual(PilotFileSpec.checksum, {})


class TraceState(unittest.TestCase):
    def test_states(self) -> None:
        self.assertEqual(trace_state(Result(), True), "DONE")
        self.assertEqual(trace_state(failure(1331, "MISSING_INPUT"), True), "MISSING_INPUT")
        self.assertEqual(trace_state(failure(1099), True), "STAGEIN_ATTEMPT_FAILED")
        self.assertEqual(trace_state(failure(1331, "MISSING_INPUT"), False, False), "STAGEOUT_ATTEMPT_FAILED")
        self.assertEqual(trace_state(failure(1171, "AD_MISMATCH"), True, False), "AD_MISMATCH")


@needs_pilot
class SendTrace(unittest.TestCase):
    def test_one_trace_per_attempt_with_the_pilots_fields(self) -> None:
        sent: list[dict[str, Any]] = []
        report = recording_report(sent)
        first = pilot_filespec(
            lfn="a.root", scope="mc", dataset="ds", guid="AB-CD", ddmendpoint="RSE1", filesize=5, turl="root://h//a"
        )
        second = pilot_filespec(lfn="b.root", scope="mc", dataset="ds", guid="EF-01", ddmendpoint="RSE2", filesize=6)
        send_trace(report, first, Result(), stagein=True)
        send_trace(report, second, failure(1331, "MISSING_INPUT", "no such file"), stagein=True)
        self.assertEqual(len(sent), 2)
        self.assertEqual(
            {k: sent[0][k] for k in ("filename", "guid", "scope", "dataset", "filesize", "url", "clientState")},
            {
                "filename": "a.root",
                "guid": "ABCD",
                "scope": "mc",
                "dataset": "ds",
                "filesize": 5,
                "url": "root://h//a",
                "clientState": "DONE",
            },
        )
        self.assertEqual((sent[0]["stateReason"], sent[0]["remoteSite"], sent[0]["localSite"]), ("OK", "RSE1", "RSE1"))
        self.assertIsNotNone(sent[0]["timeEnd"])
        self.assertIsNotNone(sent[0]["catStart"])
        # the site of the first file stays the local site, as in the pilot's copytools
        self.assertEqual((sent[1]["localSite"], sent[1]["remoteSite"]), ("RSE1", "RSE2"))
        self.assertEqual((sent[1]["clientState"], sent[1]["stateReason"]), ("MISSING_INPUT", "no such file"))

    def test_stage_out_names_the_local_file(self) -> None:
        sent: list[dict[str, Any]] = []
        fspec = pilot_filespec(filetype="output", lfn="o.root", scope="mc", guid="X", surl="/work/o.root")
        send_trace(recording_report(sent), fspec, failure(1362), stagein=False, style=TraceStyle(specific_states=False))
        self.assertEqual((sent[0]["url"], sent[0]["clientState"]), ("/work/o.root", "STAGEOUT_ATTEMPT_FAILED"))
        self.assertEqual((sent[0]["localSite"], sent[0]["remoteSite"]), ("", ""))  # the report's, untouched

    def test_the_rucio_style_names_the_storage_as_both_sites(self) -> None:
        sent: list[dict[str, Any]] = []
        fspec = pilot_filespec(filetype="output", lfn="o.root", scope="mc", ddmendpoint="RSE9", surl="/work/o.root")
        send_trace(recording_report(sent), fspec, Result(), stagein=False, style=TraceStyle(stageout_sites=True))
        self.assertEqual((sent[0]["localSite"], sent[0]["remoteSite"]), ("RSE9", "RSE9"))

    def test_engine_traces_become_the_pilots_traces(self) -> None:
        """Each engine trace (one per attempt) fills and sends the pilot's report; unknown files are dropped."""
        sent: list[dict[str, Any]] = []
        fspec = pilot_filespec(lfn="a.root", scope="mc", guid="A-B", ddmendpoint="RSE1", turl="root://h//a")
        traces = PilotTraces(recording_report(sent), [fspec], stagein=True, style=TraceStyle(specific_states=False))
        traces.send({"filename": "a.root", "clientState": "SERVICE_ERROR", "stateReason": "busy"})
        traces.send({"filename": "a.root", "clientState": "DONE", "stateReason": "OK"})
        traces.send({"filename": "other.root", "clientState": "DONE"})
        self.assertEqual(
            [(t["filename"], t["clientState"], t["stateReason"], t["guid"]) for t in sent],
            [("a.root", "STAGEIN_ATTEMPT_FAILED", "busy", "AB"), ("a.root", "DONE", "OK", "AB")],
        )
        self.assertEqual(traces.traced, {"a.root"})


class SendTraceToADict(unittest.TestCase):
    def test_a_report_without_send_is_only_filled(self) -> None:
        report: dict[str, Any] = {}
        send_trace(report, FileSpec(lfn="a", scope="s", guid="1-2"), Result(), stagein=False)
        self.assertEqual((report["filename"], report["guid"], report["clientState"]), ("a", "12", "DONE"))


if __name__ == "__main__":
    unittest.main()
