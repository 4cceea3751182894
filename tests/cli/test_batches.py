"""A stage-in in batches of inputs (issue 16): the same files, report, messages and exit status as in one batch.

Seven inputs are stored on the embedded site's posix storage; the stage-in runs in this process (`main`)
with `--files-per-batch 3` (three batches) and with the default (one batch).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

import copytools.cli.transfer
from copytools.cli import main

NAMES = [f"EVNT.{n:02d}.pool.root.1" for n in range(7)]
TIMES = ("started", "finished", "seconds")


@pytest.fixture
def stored(tmp_path, monkeypatch):
    """The seven inputs stored by a stage-out; the job's checksum of the fifth is wrong (it fails, 1171)."""
    monkeypatch.setenv("COPYTOOLS_SITE", str(tmp_path / "site"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    for n, name in enumerate(NAMES):
        (tmp_path / "out" / name).write_bytes(bytes([n]) * (300_000 + n))
    checksums = ["NULL"] * len(NAMES)
    checksums[4] = "ad:00000001"
    job = {
        "PandaID": "1",
        "outFiles": ",".join(NAMES),
        "scopeOut": ",".join(["mc16"] * len(NAMES)),
        "inFiles": ",".join(NAMES),
        "scopeIn": ",".join(["mc16"] * len(NAMES)),
        "checksum": ",".join(checksums),
        "fsize": ",".join(str(300_000 + n) for n in range(len(NAMES))),
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    assert main(["stage-out", "job.json", "-w", "out", "--quiet"]) == 0
    return tmp_path


def stage_in(capsys, workdir: str, *options: str) -> tuple[int, list[str], dict]:
    """Exit status, stderr lines and report (its times and work directory made neutral) of a stage-in."""
    code = main(["stage-in", "job.json", "-w", workdir, "--report", f"{workdir}.json", "--quiet", *options])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    text = Path(f"{workdir}.json").read_text().replace(os.path.abspath(workdir), "WORK")
    report = json.loads(text)
    report["totals"]["seconds"] = 0
    for entry in report["files"]:
        entry.update(dict.fromkeys(TIMES))
    return code, err.splitlines(), report


def contents(folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def test_batches_give_the_files_report_messages_and_status_of_one_batch(stored, capsys):
    whole = stage_in(capsys, "one")
    batched = stage_in(capsys, "three", "--files-per-batch", "3")
    assert batched[0::2] == whole[0::2]  # status and report
    failures = [[line for line in err if not line.startswith("WARNING")] for err in (batched[1], whole[1])]
    assert failures[0] == failures[1] and len(failures[0]) == 1  # the warnings count the files of a batch
    code, err, report = batched
    assert code == 12 and failures[0][0].startswith(f"FAILED {NAMES[4]} (posix): error 1171")
    assert [e["lfn"] for e in report["files"]] == NAMES and report["totals"]["done"] == 6
    assert (
        contents("three") == contents("one") == {n: (stored / "out" / n).read_bytes() for n in NAMES if n != NAMES[4]}
    )


def test_an_interrupt_between_batches_starts_no_other_batch(stored, capsys, monkeypatch):
    batches = []

    def signal_after_the_first(client, files, *args):
        original(client, files, *args)
        batches.append([f.lfn for f in files])
        if len(batches) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # as a batch system stops a job; handled by `stop_on_signals`

    original = copytools.cli.transfer._transfer_batch
    monkeypatch.setattr(copytools.cli.transfer, "_transfer_batch", signal_after_the_first)
    code, err, report = stage_in(capsys, "in", "--files-per-batch", "3")
    assert code == 143 and batches == [NAMES[:3], NAMES[3:6], NAMES[6:]]
    assert sorted(contents("in")) == NAMES[:3]  # nothing of the later batches started
    later = report["files"][3:]
    assert all(e["status"] == "transferred" for e in report["files"][:3])
    assert all((e["status"], e["state"], e["error_code"]) == ("failed", "INTERRUPTED", 1099) for e in later)
    assert err[-1] == "interrupted by signal 15: 4 file(s) not done" and len(err) == 5


@pytest.mark.parametrize("sizes", ["in the job", "in the catalog only"])
def test_inputs_that_do_not_fit_together_are_refused_before_any_is_copied(stored, capsys, sizes):
    queue = json.loads((stored / "site" / "queue.json").read_text())
    (stored / "queue.json").write_text(json.dumps({**queue, "maxwdir": 1}))  # 1 MB; the inputs are 2.1 MB
    if sizes == "in the catalog only":
        job = json.loads((stored / "job.json").read_text())
        del job["fsize"]
        (stored / "job.json").write_text(json.dumps(job))
    code, err, report = stage_in(capsys, "in", "--files-per-batch", "3", "--queue", "queue.json")
    assert code == 12 and len([line for line in err if line.startswith("FAILED")]) == len(NAMES)
    assert all(e["status"] == "failed" and "maxinputsize" in e["message"] for e in report["files"])
    assert os.listdir("in") == []


def test_a_bad_input_at_the_end_of_the_job_is_refused_before_any_batch(stored, capsys):
    job = json.loads((stored / "job.json").read_text())
    (stored / "bad.json").write_text(json.dumps({**job, "checksum": ",".join(["NULL"] * 6 + ["zz:1"])}))
    code = main(["stage-in", "bad.json", "-w", "in", "--files-per-batch", "2"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("copytools: error: bad.json: job description key")
    assert NAMES[6] in err[0] and not os.path.exists("in")
