"""Each failure names its own file, tool and reason; queue mistakes are bad input; logs can be JSON."""

from __future__ import annotations

import json

from .test_cli import cli


def test_one_input_missing_from_the_catalog_fails_alone(example, env, tmp_path):
    cli("stage-out", "job.json", "-w", "work", env=env, cwd=example, check_status=0)
    job = json.loads((example / "job.json").read_text())
    job["inFiles"] += ",NEVER.STORED.root"
    job["scopeIn"] += ",mc16_13TeV"
    job["GUID"] += ",8C3A1F2E-3333-4000-8000-000000000003"
    job["realDatasetsIn"] += ",mc16_13TeV.123456.EVNT.e1234"
    (example / "more.json").write_text(json.dumps(job))
    result = cli("stage-in", "more.json", "-w", "in", "--report", tmp_path / "r.json", env=env, cwd=example,
                 check_status=12)  # fmt: skip
    entries = {e["lfn"]: e for e in json.loads((tmp_path / "r.json").read_text())["files"]}
    assert entries["NEVER.STORED.root"]["error_code"] == 1326
    assert "NEVER.STORED.root" in entries["NEVER.STORED.root"]["message"]
    assert [e["status"] for n, e in entries.items() if n != "NEVER.STORED.root"] == ["transferred", "transferred"]
    failures = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failures) == 1 and "NEVER.STORED.root" in failures[0] and "1326" in failures[0]


def test_a_scheme_the_copytool_cannot_read_is_said_so(example, env):
    cli("stage-out", "job.json", "-w", "work", env=env, cwd=example, check_status=0)
    result = cli("stage-in", "job.json", "-w", "in", "--copytool", "xrdcp", env=env, cwd=example, check_status=12)
    assert "its replicas are file URLs, the copytool takes root" in result.stderr


def test_an_unknown_copytool_in_the_queue_is_bad_input(example, env, tmp_path):
    cli("site", "init", env=env, check_status=0)
    queue = json.loads((tmp_path / "site" / "queue.json").read_text())
    queue["acopytools"]["pr"] = ["nosuchtool"]
    (tmp_path / "queue.json").write_text(json.dumps(queue))
    result = cli("stage-in", "job.json", "-w", "in", "--queue", tmp_path / "queue.json", env=env, cwd=example,
                 check_status=2)  # fmt: skip
    assert "nosuchtool" in result.stderr and result.stderr.count("\n") == 1


def test_a_mistyped_command_gets_a_suggestion(env):
    result = cli("stage-ni", "job.json", env=env, check_status=2)
    assert "did you mean 'stage-in'?" in result.stderr


def test_log_lines_as_json(example, env):
    cli("stage-out", "job.json", "-w", "work", env=env, cwd=example, check_status=0)
    result = cli("--log-format", "json", "-v", "stage-in", "job.json", "-w", "in", "--no-progress", env=env,
                 cwd=example, check_status=0)  # fmt: skip
    logs = [json.loads(line) for line in result.stderr.splitlines()]
    assert logs and all({"time", "level", "logger", "message"} <= set(entry) for entry in logs)
