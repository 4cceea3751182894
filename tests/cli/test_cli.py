"""The command line, run as a subprocess the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from copytools.checksum import calculate_checksum

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

REPORT_SCHEMA = {
    "type": "object",
    "required": ["version", "copytools", "command", "activity", "succeeded", "totals", "files"],
    "properties": {
        "version": {"const": 2},
        "totals": {
            "type": "object",
            "additionalProperties": False,
            "required": ["files", "done", "failed", "bytes", "seconds"],
            "properties": {
                k: {"type": "number", "minimum": 0} for k in ("files", "done", "failed", "bytes", "seconds")
            },
        },
        "command": {"enum": ["stage-in", "stage-out"]},
        "succeeded": {"type": "boolean"},
        "files": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "lfn",
                    "scope",
                    "guid",
                    "rse",
                    "copytool",
                    "source",
                    "destination",
                    "attempts",
                    "bytes",
                    "seconds",
                    "started",
                    "finished",
                    "checksum",
                    "status",
                    "error_code",
                    "state",
                    "message",
                ],
                "properties": {
                    "lfn": {"type": "string", "minLength": 1},
                    "scope": {"type": "string"},
                    "guid": {"type": "string"},
                    "rse": {"type": "string"},
                    "attempts": {"type": "integer", "minimum": 0},
                    "started": {"type": "string"},
                    "finished": {"type": "string"},
                    "copytool": {"type": "string"},
                    "source": {"type": "string"},
                    "destination": {"type": "string"},
                    "bytes": {"type": "integer", "minimum": 0},
                    "seconds": {"type": "number", "minimum": 0},
                    "checksum": {"type": "string", "pattern": "^(|adler32:[0-9a-f]{8}|md5:[0-9a-f]{32})$"},
                    "status": {"enum": ["transferred", "remote_io", "no_transfer", "failed", "not_attempted"]},
                    "error_code": {"type": "integer"},
                    "state": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def cli(*args, env, cwd=None, check_status=None):
    result = subprocess.run(
        [sys.executable, "-m", "copytools", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in result.stderr + result.stdout
    if check_status is not None:
        assert result.returncode == check_status, result.stdout + result.stderr
    return result


@pytest.mark.slow
def test_readme_first_command_cycle(example, env):
    out = cli("stage-out", "job.json", "--workdir", "work", env=env, cwd=example, check_status=0)
    assert "3 done, 0 failed of 3 files" in out.stdout and out.stdout.count("\ttransferred\t") == 3
    cli("stage-in", "job.json", "--workdir", "input", env=env, cwd=example, check_status=0)
    job = json.loads((example / "job.json").read_text())
    for lfn in job["inFiles"].split(","):
        assert (example / "input" / lfn).read_bytes() == (example / "work" / lfn).read_bytes()


@pytest.mark.slow
def test_report_matches_the_schema(example, env, tmp_path):
    cli("stage-out", "job.json", "-w", "work", "--report", tmp_path / "out.json", env=env, cwd=example, check_status=0)
    cli(
        "stage-in",
        "job.json",
        "-w",
        "input",
        "--report",
        tmp_path / "in.json",
        "--traces",
        tmp_path / "t.jsonl",
        env=env,
        cwd=example,
        check_status=0,
    )
    for name in ("out.json", "in.json"):
        report = json.loads((tmp_path / name).read_text())
        jsonschema.validate(report, REPORT_SCHEMA)
        assert report["succeeded"] and all(f["status"] == "transferred" and f["bytes"] > 0 for f in report["files"])
    report = json.loads((tmp_path / "in.json").read_text())
    first = report["files"][0]
    assert first["checksum"] == "adler32:" + calculate_checksum(example / "input" / first["lfn"])
    traces = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [t["eventType"] for t in traces] == ["get_sm", "get_sm"]
    job = json.loads((example / "job.json").read_text())
    assert all(t["appid"] == job["PandaID"] and t["taskid"] == job["taskID"] for t in traces)


@pytest.mark.slow
def test_failed_files_give_exit_status_and_codes(example, env, tmp_path):
    cli("stage-out", "job.json", "-w", "work", env=env, cwd=example, check_status=0)
    job = json.loads((example / "job.json").read_text())
    lfn = job["inFiles"].split(",")[0]
    job["checksum"] = "ad:00000001,"  # wrong catalog checksum for the first input
    (example / "bad.json").write_text(json.dumps(job))
    result = cli(
        "stage-in", "bad.json", "-w", "input2", "--report", tmp_path / "r.json", env=env, cwd=example, check_status=12
    )
    assert f"FAILED {lfn} (posix): error 1171" in result.stderr  # each failure names its file and tool
    report = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(report, REPORT_SCHEMA)
    assert not report["succeeded"] and report["files"][0]["error_code"] == 1171
    assert not (example / "input2" / lfn).exists()


@pytest.mark.slow
def test_dry_run_changes_nothing(example, env, tmp_path):
    plan = tmp_path / "plan.json"
    result = cli(
        "stage-out", "job.json", "-w", "work", "--dry-run", "--report", plan, env=env, cwd=example, check_status=0
    )
    assert result.stdout.startswith("file\tcopytool\tfrom\tto\twhy") and "LOCAL_DISK" in result.stdout
    assert [e["copytool"] for e in json.loads(plan.read_text())["plan"]] == ["posix"] * 3
    assert "file://" in result.stdout
    assert not list((tmp_path / "site" / "storage").rglob("*.root*"))
    result = cli("stage-in", "job.json", "-w", "input", "--dry-run", env=env, cwd=example, check_status=12)
    assert "error 1326" in result.stdout  # nothing staged out yet: no replica, so no plan (exit 12)
    assert not (example / "input").exists()  # a dry run makes no work directory either


def test_copy_and_checksum(tmp_path, env):
    source = tmp_path / "a.dat"
    source.write_bytes(b"copytools" * 1000)
    adler = calculate_checksum(source)
    cli("copy", source, tmp_path / "b.dat", "--checksum", f"ad:{adler}", env=env, check_status=0)
    assert (tmp_path / "b.dat").read_bytes() == source.read_bytes()
    cli("copy", source, f"file://{tmp_path}/c.dat", env=env, check_status=0)
    assert (tmp_path / "c.dat").exists()
    result = cli("copy", source, tmp_path / "d.dat", "--checksum", "ad:00000001", env=env, check_status=12)
    assert "error 1171" in result.stderr and not (tmp_path / "d.dat").exists()
    result = cli("copy", tmp_path / "missing", tmp_path / "e.dat", env=env, check_status=12)
    assert "error 1331" in result.stderr
    result = cli("checksum", source, tmp_path / "b.dat", env=env, check_status=0)
    md5 = calculate_checksum(source, "md5")
    assert result.stdout.splitlines() == [f"{adler}  {md5}  {source}", f"{adler}  {md5}  {tmp_path / 'b.dat'}"]


def test_tools_table(env, tmp_path):
    env = dict(env, XDG_CACHE_HOME=str(tmp_path / "cache"))
    result = cli("tools", env=env, check_status=0)
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()[1:]}
    assert rows["mv"][1:3] == ["copytools.localtools:MvTool", "yes"] and rows["posix"][2] == "yes"
    assert rows["rucio"][2] in ("yes", "no")


def test_tools_remembers_versions_until_told_to_recheck(env, tmp_path):
    bindir, runs = tmp_path / "bin", tmp_path / "xrdcp.runs"
    bindir.mkdir()
    (bindir / "xrdcp").write_text(f'#!/bin/sh\necho run >> "{runs}"\necho "fake xrdcp 9.9"\n')
    (bindir / "xrdcp").chmod(0o755)
    env = dict(env, XDG_CACHE_HOME=str(tmp_path / "cache"), PATH=f"{bindir}{os.pathsep}{env['PATH']}")
    outputs = [cli("tools", *extra, env=env, check_status=0).stdout for extra in ([], [], ["--recheck"])]
    assert all(f"{bindir / 'xrdcp'} fake xrdcp 9.9" in out for out in outputs)
    assert len(runs.read_text().splitlines()) == 2  # the second run remembered the answer; --recheck asked


def test_site_init(tmp_path, env):
    result = cli("site", "init", tmp_path / "mysite", env=env, check_status=0)
    assert "LOCAL_DISK" in result.stdout
    assert {p.name for p in (tmp_path / "mysite").iterdir()} >= {"queue.json", "storages.json", "catalog.sqlite"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["stage-in", "{tmp}/nope.json", "-w", "{tmp}/w"], ["cannot read job description", "nope.json"]),
        (["stage-in", "{tmp}/broken.json", "-w", "{tmp}/w"], ["not valid JSON", "broken.json"]),
        (["stage-in", "{tmp}/list.json", "-w", "{tmp}/w"], ["must be a JSON object"]),
        (["stage-in", "{tmp}/badjob.json", "-w", "{tmp}/w"], ["'fsize'", "Fix the job description"]),
        (
            ["stage-in", "{job}", "-w", "{tmp}/w", "--activity", "nonsense"],
            ["unknown activity 'nonsense'", "--activity"],
        ),
        (
            ["stage-in", "{job}", "-w", "{tmp}/w", "--queue", "{tmp}/broken.json", "--storages", "{tmp}/broken.json"],
            ["queue description", "not valid JSON"],
        ),
        (["stage-in", "{job}", "-w", "{tmp}/w", "--copytool", "warp"], ["error 1323", "unknown copytool 'warp'"]),
        (["copy", "{job}", "{tmp}/x", "--checksum", "sha1:abc"], ["--checksum", "ad:<8 hex>"]),
        (["copy", "{job}", "{tmp}/x", "--checksum", "ad:xyz"], ["--checksum", "malformed adler32"]),
        (["copy", "{job}", "gopher://h/x"], ["no copytool for URL scheme 'gopher'", "--copytool"]),
        (["stage-out", "{job}", "-w", "{tmp}/absent"], ["does not exist"]),
    ],
)
def test_bad_input_is_one_clear_message(tmp_path, env, args, words):
    (tmp_path / "broken.json").write_text("{oops")
    (tmp_path / "list.json").write_text("[]")
    (tmp_path / "badjob.json").write_text(json.dumps({"inFiles": "a.root", "fsize": "big"}))
    values = {"tmp": tmp_path, "job": EXAMPLES / "job.json"}
    result = cli(*[a.format(**values) for a in args], env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    for word in words:
        assert word in result.stderr
