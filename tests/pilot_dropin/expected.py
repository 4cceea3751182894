"""What each drop-in scenario must give: the published pilot's own result, and copytools' (equal or better).

Mirrors the table in EXPECTED.md. An outcome is (code the data API raised, per file (status, status_code),
the clientState of each trace sent). `better` is None when copytools must equal the pilot in everything
the harness compares (see harness.summary/differences); otherwise it is copytools' documented outcome.
`today` is how copytools fails now (the strict xfail reason), empty when it already passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    code: int | None
    files: tuple[tuple[str | None, int | None], ...]
    traces: tuple[str, ...] = ()

    @classmethod
    def of(cls, result: dict[str, Any]) -> Outcome:
        error = result["error"]
        return cls(
            error["code"] if error else None,
            tuple((f["status"], f["status_code"]) for f in result["files"]),
            tuple(t.get("clientState") for t in result["traces"]),
        )


@dataclass(frozen=True)
class Expect:
    pilot: Outcome
    better: Outcome | None = None
    why: str = ""
    today: str = ""
    # For a better failure: "absent" (nothing left at the destination) or "untouched" (files as the pilot left them).
    tree: str = "absent"
    # Files the pilot leaves and copytools does not ("<tree label>/<path>"), otherwise compared as above.
    pilot_only: tuple[str, ...] = ()


def ok(*traces: str) -> Outcome:
    return Outcome(None, (("transferred", 0),), traces)


def failed(code: int, *traces: str, status: str | None = "failed", status_code: int | None = None) -> Outcome:
    return Outcome(code, ((status, code if status_code is None else status_code),), traces)


def code_lost(code: int, *traces: str) -> Outcome:
    """The data API raised `code`, but the file was marked failed with no code (status_code None)."""
    return Outcome(code, (("failed", None),), traces)


LINKED = "a symbolic link reads no bytes: nothing to verify, as in the pilot"
RUCIO_SUMMARY = "base/job/rucio_upload.json"
NO_SUMMARY = (
    "Rucio's upload summary is read from a private temporary file: no `rucio_upload.json` in the work directory"
)
HARDLINKED = "a move on one file system reads no bytes: nothing to verify; output.list carries the given checksum"
MISSING_OUTPUT = Expect(
    failed(1165, "MISSINGOUTPUTFILE", status=None, status_code=0), why="the data API fails before any copytool"
)

EXPECTED: dict[str, Expect] = {
    # --- mv (no traces: the pilot's mv sends none) ---
    "mv-stage-in-success": Expect(ok()),
    "mv-stage-in-missing_source": Expect(
        ok(),
        failed(1331),
        "the pilot links to a file that is not there and the job fails later; copytools fails the input (1331)",
    ),
    "mv-stage-in-wrong_checksum": Expect(ok(), why=LINKED),
    "mv-stage-in-existing_destination": Expect(
        failed(1099),
        ok(),
        "a leftover from an earlier attempt makes the pilot's `ln -s` fail; copytools replaces it",
    ),
    "mv-stage-in-unwritable_destination": Expect(failed(1099)),
    "mv-stage-in-no_size_checksum": Expect(ok()),
    "mv-stage-out-success": Expect(ok()),
    "mv-stage-out-missing_source": MISSING_OUTPUT,
    "mv-stage-out-wrong_checksum": Expect(ok(), why=HARDLINKED),
    "mv-stage-out-existing_destination": Expect(ok(), why="mv replaces the file in the parent directory"),
    "mv-stage-out-unwritable_destination": Expect(
        failed(1199, status=None, status_code=0),
        failed(1199),
        "the pilot leaves the file's status unset; copytools marks it failed with the same code",
    ),
    "mv-stage-out-no_size_checksum": Expect(ok()),
    # --- xrdcp (a real xrootd) ---
    "xrdcp-stage-in-success": Expect(ok("DONE")),
    "xrdcp-stage-in-missing_source": Expect(
        failed(1362, "STAGEIN_ATTEMPT_FAILED"),
        failed(1331, "STAGEIN_ATTEMPT_FAILED"),
        "xrootd's [3011] means the replica is missing: 1331 (missing input), not 1362 (xrdcp error)",
    ),
    "xrdcp-stage-in-wrong_checksum": Expect(
        ok("DONE"),
        failed(1171, "AD_MISMATCH"),
        "the pilot overwrites the catalog checksum with the copy's own and never compares; copytools does (1171)",
    ),
    "xrdcp-stage-in-existing_destination": Expect(ok("DONE")),
    "xrdcp-stage-in-unwritable_destination": Expect(
        failed(1099, status=None, status_code=0),
        failed(1099, "STAGEIN_ATTEMPT_FAILED"),
        "the pilot dies on NotADirectoryError before any trace; copytools fails the file (1099) and sends its trace",
    ),
    "xrdcp-stage-in-no_size_checksum": Expect(ok("DONE")),
    "xrdcp-stage-out-success": Expect(ok("DONE")),
    "xrdcp-stage-out-missing_source": MISSING_OUTPUT,
    "xrdcp-stage-out-wrong_checksum": Expect(
        ok("DONE"),
        failed(1172, "AD_MISMATCH"),
        "the pilot replaces the given checksum by the stored copy's and accepts it; copytools fails the output (1172)",
    ),
    "xrdcp-stage-out-existing_destination": Expect(ok("DONE")),
    "xrdcp-stage-out-unwritable_destination": Expect(failed(1362, "STAGEOUT_ATTEMPT_FAILED")),
    "xrdcp-stage-out-no_size_checksum": Expect(ok("DONE")),
    # --- lsm (the reference movers behind a site setup script; posix storage, file:// URLs) ---
    "lsm-stage-in-success": Expect(ok("DONE")),
    "lsm-stage-in-missing_source": Expect(failed(1331, "MISSING_INPUT")),
    "lsm-stage-in-wrong_checksum": Expect(
        failed(1171, "MD_MISMATCH"),
        failed(1171, "AD_MISMATCH"),
        "same code; the pilot names an adler32 mismatch MD_MISMATCH and leaves the bad copy in the work directory",
    ),
    "lsm-stage-in-existing_destination": Expect(ok("DONE")),
    "lsm-stage-in-unwritable_destination": Expect(failed(1099, "COPY_ERROR")),
    "lsm-stage-in-no_size_checksum": Expect(
        failed(1314, "UNKNOWN_CHECKSUM_TYPE"),
        ok("DONE"),
        "the pilot's lsm fails an input without a catalog checksum (1314); copytools copies it and records the adler32",
    ),
    "lsm-stage-out-success": Expect(
        ok("DONE"),
    ),
    "lsm-stage-out-missing_source": MISSING_OUTPUT,
    "lsm-stage-out-wrong_checksum": Expect(
        code_lost(1301, "AD_MISMATCH"),
        failed(1172, "AD_MISMATCH"),
        "the pilot's lsm reads the code from a key that is never set: None, and 1301 for the job; copytools: 1172",
    ),
    "lsm-stage-out-existing_destination": Expect(
        code_lost(1301, "FILE_EXISTS"),
        failed(1221, "FILE_EXISTS"),
        "lsm-put refuses to overwrite under both; the pilot loses the code (1301), copytools keeps it (1221)",
        tree="untouched",
    ),
    "lsm-stage-out-unwritable_destination": Expect(
        code_lost(1301, "COPY_ERROR"),
        failed(1137, "COPY_ERROR"),
        "the pilot loses the code (1301); copytools reports the stage-out failure (1137)",
    ),
    "lsm-stage-out-no_size_checksum": Expect(ok("DONE")),
    "lsm-stage-out-missing_token": Expect(
        failed(1137, "STAGEOUT_ATTEMPT_FAILED", status=None, status_code=0),
        failed(1137, "STAGEOUT_ATTEMPT_FAILED"),
        "the pilot leaves the file's status unset; copytools marks it failed with the same code",
    ),
    # --- gfal (gfal-copy against a real xrootd) ---
    "gfal-stage-in-success": Expect(ok("DONE")),
    "gfal-stage-in-missing_source": Expect(failed(1331, "MISSING_INPUT")),
    "gfal-stage-in-wrong_checksum": Expect(
        failed(1099, "COPY_ERROR"),
        failed(1171, "AD_MISMATCH"),
        "gfal-copy's checksum error is not one the pilot's rules know (1099); copytools says adler32 mismatch (1171)",
    ),
    "gfal-stage-in-existing_destination": Expect(ok("DONE")),
    "gfal-stage-in-unwritable_destination": Expect(
        failed(1099, status=None, status_code=0),
        failed(1099, "COPY_ERROR"),
        "the pilot dies on NotADirectoryError before any trace; copytools fails the file (1099) and sends its trace",
    ),
    "gfal-stage-in-no_size_checksum": Expect(ok("DONE")),
    "gfal-stage-out-success": Expect(ok("DONE")),
    "gfal-stage-out-missing_source": MISSING_OUTPUT,
    "gfal-stage-out-wrong_checksum": Expect(
        failed(1137, "COPY_ERROR"),
        failed(1172, "AD_MISMATCH"),
        "gfal-copy's checksum error is not one the pilot's rules know (1137); copytools says adler32 mismatch (1172)",
    ),
    "gfal-stage-out-existing_destination": Expect(ok("DONE")),
    "gfal-stage-out-unwritable_destination": Expect(failed(1137, "COPY_ERROR")),
    "gfal-stage-out-no_size_checksum": Expect(ok("DONE")),
    # --- rucio (the real Rucio server: the data API lists the replicas, the copytool downloads or uploads) ---
    "rucio-stage-in-success": Expect(ok("DONE")),
    "rucio-stage-in-missing_source": Expect(failed(1331, "MISSING_INPUT")),
    "rucio-stage-in-wrong_checksum": Expect(
        failed(1171, "MD_MISMATCH"),
        failed(1171, "AD_MISMATCH"),
        "same code; the pilot names an adler32 mismatch MD_MISMATCH",
    ),
    "rucio-stage-in-existing_destination": Expect(
        failed(1171, "MD_MISMATCH"),
        ok("DONE"),
        "Rucio keeps a leftover partial file and the pilot then fails its checksum; copytools replaces it",
    ),
    "rucio-stage-in-unwritable_destination": Expect(
        failed(1221, "FILE_EXISTS"),
        failed(1099, "COPY_ERROR"),
        "Rucio's `File exists` on the work directory reads as 1221 to the pilot; nothing exists: 1099",
    ),
    "rucio-stage-in-no_size_checksum": Expect(ok("DONE")),
    "rucio-stage-out-success": Expect(ok("DONE"), why=NO_SUMMARY, pilot_only=(RUCIO_SUMMARY,)),
    "rucio-stage-out-missing_source": MISSING_OUTPUT,
    "rucio-stage-out-wrong_checksum": Expect(failed(1172, "AD_MISMATCH"), why=NO_SUMMARY, pilot_only=(RUCIO_SUMMARY,)),
    "rucio-stage-out-existing_destination": Expect(
        failed(1137, "COPY_ERROR"),
        failed(1221, "FILE_EXISTS"),
        "the name is registered already: Rucio's `File already exists` is not one of the pilot's patterns. "
        + NO_SUMMARY,
        tree="untouched",
        pilot_only=(RUCIO_SUMMARY,),
    ),
    "rucio-stage-out-unwritable_destination": Expect(
        ok("DONE"),
        why=f"Rucio falls back to the RSE's next protocol (root://), under both. {NO_SUMMARY}",
        pilot_only=(RUCIO_SUMMARY,),
    ),
    "rucio-stage-out-no_size_checksum": Expect(ok("DONE"), why=NO_SUMMARY, pilot_only=(RUCIO_SUMMARY,)),
}


def describe(outcome: Outcome) -> str:
    """`1331; failed/1331; MISSING_INPUT` - code raised (or `ok`), each file's status/code, trace states."""
    code = "ok" if outcome.code is None else str(outcome.code)
    files = ", ".join(f"{status}/{status_code}" for status, status_code in outcome.files)
    return f"{code}; {files}; {', '.join(outcome.traces) or '-'}"


def table() -> str:
    """The markdown table of EXPECTED.md, one row per scenario."""
    rows = [
        "| scenario | published pilot (code; status/status_code; traces) | copytools | why |",
        "|---|---|---|---|",
    ]
    for name, expect in EXPECTED.items():
        ours = "equal" if expect.better is None else f"**{describe(expect.better)}**"
        if expect.pilot_only:
            ours += "; **leaves no " + ", ".join(f"`{e.rsplit('/', 1)[-1]}`" for e in expect.pilot_only) + "**"
        rows.append(f"| {name} | {describe(expect.pilot)} | {ours} | {expect.why} |")
    return "\n".join(rows) + "\n"
