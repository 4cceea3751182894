"""What each drop-in scenario must give: the published pilot's own result, and copytools' (equal or better).

Mirrors the table in EXPECTED.md. An outcome is (code the data API raised, per file (status, status_code),
the clientState of each trace sent). `better` is None when copytools must equal the pilot in everything
the harness compares (see harness.summary/differences); otherwise it is copytools' documented outcome.
`today` is how copytools fails now (the strict xfail reason), empty when it already passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The failures seen before the facade work (issue 12), per kind.
NO_SUCCEED = (
    "AttributeError: the pilot's FileSpec has no succeed() (called after the bytes moved); data API says {code}"
)
NO_FAIL = "AttributeError: the pilot's FileSpec has no fail(); data API collapses the error to {code}"


@dataclass(frozen=True)
class Outcome:
    code: int | None
    files: tuple[tuple[str | None, int], ...]
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


def ok(*traces: str) -> Outcome:
    return Outcome(None, (("transferred", 0),), traces)


def failed(code: int, *traces: str, status: str | None = "failed", status_code: int | None = None) -> Outcome:
    return Outcome(code, ((status, code if status_code is None else status_code),), traces)


MISSING_OUTPUT = Expect(failed(1165, "MISSINGOUTPUTFILE", status=None, status_code=0))

EXPECTED: dict[str, Expect] = {
    # --- mv (no traces: the pilot's mv sends none) ---
    "mv-stage-in-success": Expect(ok(), today=NO_SUCCEED.format(code=1099)),
    "mv-stage-in-missing_source": Expect(
        ok(),
        failed(1331),
        "the pilot links to a file that is not there and the job fails later; copytools fails the input (1331)",
        NO_FAIL.format(code=1099),
    ),
    "mv-stage-in-wrong_checksum": Expect(ok(), today=NO_SUCCEED.format(code=1099)),
    "mv-stage-in-existing_destination": Expect(
        failed(1099),
        ok(),
        "a leftover from an earlier attempt makes the pilot's `ln -s` fail; copytools replaces it",
        NO_SUCCEED.format(code=1099),
    ),
    "mv-stage-in-unwritable_destination": Expect(failed(1099), today=NO_FAIL.format(code=1099)),
    "mv-stage-in-no_size_checksum": Expect(ok(), today=NO_SUCCEED.format(code=1099)),
    "mv-stage-out-success": Expect(ok(), today=NO_SUCCEED.format(code=1137)),
    "mv-stage-out-missing_source": MISSING_OUTPUT,
    "mv-stage-out-wrong_checksum": Expect(ok(), today=NO_SUCCEED.format(code=1137)),
    "mv-stage-out-existing_destination": Expect(ok(), today=NO_SUCCEED.format(code=1137)),
    "mv-stage-out-unwritable_destination": Expect(
        failed(1199, status=None, status_code=0),
        failed(1199),
        "the pilot leaves the file's status unset; copytools marks it failed with the same code",
        NO_FAIL.format(code=1137),
    ),
    "mv-stage-out-no_size_checksum": Expect(ok(), today=NO_SUCCEED.format(code=1137)),
    # --- xrdcp (a real xrootd) ---
    "xrdcp-stage-in-success": Expect(ok("DONE"), today=NO_SUCCEED.format(code=1099) + ", no trace"),
    "xrdcp-stage-in-missing_source": Expect(
        failed(1362, "STAGEIN_ATTEMPT_FAILED"),
        failed(1331, "STAGEIN_ATTEMPT_FAILED"),
        "xrootd's [3011] means the replica is missing: 1331 (missing input), not 1362 (xrdcp error)",
        NO_FAIL.format(code=1099) + ", no trace",
    ),
    "xrdcp-stage-in-wrong_checksum": Expect(
        ok("DONE"),
        failed(1171, "AD_MISMATCH"),
        "the pilot overwrites the catalog checksum with the copy's own and never compares; copytools does (1171)",
        NO_FAIL.format(code=1099) + ", no trace",
    ),
    "xrdcp-stage-in-existing_destination": Expect(ok("DONE"), today=NO_SUCCEED.format(code=1099) + ", no trace"),
    "xrdcp-stage-in-unwritable_destination": Expect(
        failed(1099, status=None, status_code=0),
        failed(1099, "STAGEIN_ATTEMPT_FAILED"),
        "the pilot dies on NotADirectoryError before any trace; copytools fails the file (1099) and sends its trace",
        NO_FAIL.format(code=1099) + ", no trace",
    ),
    "xrdcp-stage-in-no_size_checksum": Expect(ok("DONE"), today=NO_SUCCEED.format(code=1099) + ", no trace"),
    "xrdcp-stage-out-success": Expect(ok("DONE"), today=NO_SUCCEED.format(code=1137) + ", no trace"),
    "xrdcp-stage-out-missing_source": MISSING_OUTPUT,
    "xrdcp-stage-out-wrong_checksum": Expect(
        ok("DONE"),
        failed(1172, "AD_MISMATCH"),
        "the pilot replaces the given checksum by the stored copy's and accepts it; copytools fails the output (1172)",
        NO_FAIL.format(code=1137) + ", no trace",
    ),
    "xrdcp-stage-out-existing_destination": Expect(ok("DONE"), today=NO_SUCCEED.format(code=1137) + ", no trace"),
    "xrdcp-stage-out-unwritable_destination": Expect(
        failed(1362, "STAGEOUT_ATTEMPT_FAILED"), today=NO_FAIL.format(code=1137) + ", no trace"
    ),
    "xrdcp-stage-out-no_size_checksum": Expect(ok("DONE"), today=NO_SUCCEED.format(code=1137) + ", no trace"),
}
