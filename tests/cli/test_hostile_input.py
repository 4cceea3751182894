"""Hostile and broken input through the real command line and the embedded site's posix storage.

Every case ends with exit status 2 and one line on stderr that names the file (and the key), nothing
written outside the work directory and the storage root, and no traceback (issue 13, items 1, 2, 7, 8).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from copytools.cli import main

OUTPUT = b"payload of a job's output\n"


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """`<tmp>/a/b/c` as the current directory with the site and work directory; `<tmp>/outside` must stay empty."""
    home = tmp_path / "a" / "b" / "c"
    (home / "work").mkdir(parents=True)
    (home / "work" / "x.root").write_bytes(OUTPUT)
    (home / "work" / "y.root").write_bytes(OUTPUT)
    (tmp_path / "outside").mkdir()
    monkeypatch.setenv("COPYTOOLS_SITE", str(home / "site"))
    monkeypatch.setenv("COLUMNS", "80")  # long messages would wrap if the error line went through rich
    monkeypatch.chdir(home)
    return home


def run_cli(*args, cwd):
    """The command as a user runs it: a subprocess; its stderr must be one line and no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "copytools", *map(os.fsencode, args)],
        capture_output=True,
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in result.stdout + result.stderr, stderr
    return result.returncode, stderr


def run_main(capsys, *args):
    """The command in this process (`main`), for the many cases that need no console of their own."""
    code = main([os.fspath(a) for a in args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.err


def assert_one_line(stderr, *words):
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("copytools: error"), stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in Path(path).rglob("*") if p.is_file() or p.is_symlink())


def assert_nothing_stored(sandbox):
    tmp = sandbox.parents[2]
    assert [f for f in files_under(tmp) if not f.startswith("a/b/c/")] == []  # <tmp>/outside included
    storage = sandbox / "site" / "storage"
    assert files_under(storage) == [] if storage.exists() else True
    catalog = sandbox / "site" / "catalog.sqlite"
    if catalog.exists():
        assert sqlite3.connect(catalog).execute("SELECT COUNT(*) FROM replicas").fetchone() == (0,)


def write_job(path, **keys):
    Path(path).write_text(json.dumps(keys))
    return path


HOSTILE_SCOPES = {
    "absolute": "{outside}",
    "dot-dot": "../../../../../../outside",  # from <tmp>/a/b/c/site/storage/rucio
    "percent-dot-dot": "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside",
    "fragment": "data#1",
    "query": "data?2",
    "nul": "data\x00x",
    "control": "data\x1b[2J",
    "surrogate": "data\ud800",
    "absurd length": "s" * 5000,
}


@pytest.mark.parametrize("scope", HOSTILE_SCOPES.values(), ids=HOSTILE_SCOPES.keys())
def test_a_hostile_scope_is_refused_before_anything_is_touched(sandbox, scope):
    """Before: `/abs`, `..` and `%2e%2e` scopes were written and registered outside the storage, exit 0."""
    scope = scope.format(outside=sandbox.parents[2] / "outside")
    write_job("job.json", outFiles="x.root", scopeOut=scope)
    code, stderr = run_cli("stage-out", "job.json", "-w", "work", cwd=sandbox)
    assert code == 2
    assert_one_line(stderr, "job.json", "'scopeOut'")
    assert_nothing_stored(sandbox)
    assert (sandbox / "work" / "x.root").read_bytes() == OUTPUT


def test_scopes_that_cut_a_url_no_longer_lose_a_file(sandbox, capsys):
    """Before: `data#1`+x.root and `data?2`+y.root were both written to `<storage>/rucio/data`, one lost."""
    write_job("job.json", outFiles="x.root,y.root", scopeOut="data#1,data?2")
    code, stderr = run_main(capsys, "stage-out", "job.json", "-w", "work")
    assert code == 2
    assert_one_line(stderr, "job.json", "'scopeOut'", "data#1")
    assert_nothing_stored(sandbox)


def test_two_outputs_with_one_name_are_refused(sandbox, capsys):
    write_job("job.json", outFiles="x.root,x.root", scopeOut="mc16,mc16")
    code, stderr = run_main(capsys, "stage-out", "job.json", "-w", "work")
    assert code == 2
    assert_one_line(stderr, "job.json", "'outFiles'", "mc16:x.root", "listed twice")
    assert_nothing_stored(sandbox)


def test_two_inputs_that_would_land_on_one_file_are_refused(sandbox, capsys):
    write_job("job.json", inFiles="x.root,x.root", scopeIn="mc16,data18")
    code, stderr = run_main(capsys, "stage-in", "job.json", "-w", "in")
    assert code == 2
    assert_one_line(stderr, "job.json", "'inFiles'", "'mc16'", "'data18'")
    assert not (sandbox / "in").exists()


def test_an_ordinary_scope_is_stored_below_the_storage_root(sandbox, capsys):
    write_job("job.json", outFiles="x.root", scopeOut="user.jdoe")
    assert run_main(capsys, "stage-out", "job.json", "-w", "work")[0] == 0
    stored = files_under(sandbox / "site" / "storage")
    assert len(stored) == 1 and stored[0].startswith("rucio/user/jdoe/") and stored[0].endswith("/x.root")


@pytest.mark.parametrize(
    ("lfn", "reason"),
    [
        ("é" * 128, "255 bytes"),  # 256 bytes in UTF-8
        ("a" * 10_000_000, "1024 characters"),  # refused at once, not after minutes of work
        ("x\ud800.root", "lone surrogate"),
        ("x\x00.root", "NUL"),
        ("x\x7f.root", "control character"),
    ],
    ids=["256-bytes", "10MB", "surrogate", "nul", "control"],
)
def test_an_lfn_that_no_file_system_takes_is_refused(sandbox, capsys, lfn, reason):
    write_job("job.json", outFiles=lfn, scopeOut="mc16")
    code, stderr = run_main(capsys, "stage-out", "job.json", "-w", "work")
    assert code == 2
    assert_one_line(stderr, "job.json", "'outFiles'", reason)
    assert len(stderr) < 400
    assert_nothing_stored(sandbox)


BROKEN_JSON = {
    "not UTF-8": b'{"inFiles": "\xff\xfe.root"}',
    "nested": b"[" * 100_000 + b"]" * 100_000,
    "5000 digits": b'{"inFiles": "a.root", "fsize": ' + b"9" * 5000 + b"}",
    "Infinity": b'{"inFiles": "a.root", "fsize": Infinity}',
    "NaN": b'{"inFiles": "a.root", "fsize": NaN}',
    "1e999": b'{"inFiles": "a.root", "fsize": 1e999}',
}


@pytest.mark.parametrize("which", ["job", "queue", "storages"])
@pytest.mark.parametrize("content", BROKEN_JSON.values(), ids=BROKEN_JSON.keys())
def test_a_broken_description_file_is_one_line(sandbox, capsys, which, content):
    write_job("job.json", inFiles="a.root", scopeIn="mc16")
    main(["site", "init"])  # a valid queue and storages to break one of
    site = sandbox / "site"
    files = {"job": sandbox / "job.json", "queue": site / "queue.json", "storages": site / "storages.json"}
    files[which] = sandbox / f"broken-{which}.json"
    files[which].write_bytes(content)
    capsys.readouterr()
    args = ["stage-in", files["job"], "-w", "in", "--queue", files["queue"], "--storages", files["storages"]]
    code, stderr = run_main(capsys, *args)
    assert code == 2
    assert_one_line(stderr, f"broken-{which}.json")


QUEUE_FIELDS = {
    "schemas as a string": ({"acopytools_schemas": "root"}, "acopytools_schemas"),
    "schemas of a number": ({"acopytools_schemas": {"pr": 5}}, "acopytools_schemas"),
    "schemas per copytool as a string": ({"acopytools_schemas": {"pr": {"posix": "file"}}}, "acopytools_schemas"),
    "copytools as a list": ({"copytools": ["posix"]}, "copytools"),
    "maxwdir as a list": ({"maxwdir": [1]}, "maxwdir"),
    "allow_lan as an object": ({"allow_lan": {"yes": 1}}, "allow_lan"),
    "astorages of numbers": ({"astorages": {"pr": [1]}}, "astorages"),
}


@pytest.mark.parametrize(("change", "field"), QUEUE_FIELDS.values(), ids=QUEUE_FIELDS.keys())
def test_a_queue_field_of_the_wrong_shape_is_named(sandbox, capsys, change, field):
    main(["site", "init"])
    queue = json.loads((sandbox / "site" / "queue.json").read_text())
    queue.update(change)
    Path("queue.json").write_text(json.dumps(queue))
    write_job("job.json", inFiles="a.root", scopeIn="mc16")
    capsys.readouterr()
    args = ["stage-in", "job.json", "-w", "in", "--queue", "queue.json", "--storages", "site/storages.json"]
    code, stderr = run_main(capsys, *args)
    assert code == 2
    assert_one_line(stderr, field)


def test_rich_markup_in_names_is_printed_as_it_is(sandbox):
    """Before: `[/x]` in a path was read as a closing tag by rich and ended in a traceback."""
    code, stderr = run_cli("stage-in", "[/x].json", "-w", "in", cwd=sandbox)
    assert code == 2
    assert_one_line(stderr, "[/x].json")
    (sandbox / "w[").mkdir()
    (sandbox / "w[" / "[x]").mkdir()
    (sandbox / "[red]job[").mkdir()
    write_job(sandbox / "[red]job[/x].json", outFiles="x.root", scopeOut="mc16")
    code, stderr = run_cli("stage-out", "[red]job[/x].json", "-w", "w[/[x]", cwd=sandbox)
    assert code == 12 and "Traceback" not in stderr  # the output is missing: a transfer failure, reported


def test_a_name_that_is_not_utf8_is_printed_escaped(sandbox):
    code, stderr = run_cli(b"stage-in", b"\xff.json", b"-w", b"in", cwd=sandbox)
    assert code == 2
    assert_one_line(stderr, "\\udcff.json", "cannot read job description")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["stage-in", "job.json", "-w", "job.json"], ["job.json is not a directory", "--workdir"]),
        (["stage-out", "job.json", "-w", "job.json"], ["job.json is not a directory", "--workdir"]),
        (["stage-in", "job.json", "-w", "job.json/sub"], ["cannot create work directory", "--workdir"]),
        (["stage-out", "job.json", "-w", "work", "--report", "missing/r.json"], ["--report", "does not exist"]),
        (["stage-out", "job.json", "-w", "work", "--report", "work"], ["--report", "is a directory"]),
        (["stage-out", "job.json", "-w", "work", "--traces", "missing/t.jsonl"], ["--traces", "does not exist"]),
        (
            ["stage-out", "job.json", "-w", "work", "--site", "job.json"],
            ["cannot create the embedded site", "job.json"],
        ),
        (["stage-out", "job.json", "-w", "work", "--catalog", "work"], ["--catalog", "work"]),
        (["site", "init", "job.json/site"], ["cannot create the embedded site", "job.json/site"]),
        (["stage-out", "job.json", "-w", "wo\x00rk"], ["workdir", "NUL"]),
    ],
)
def test_bad_arguments_are_refused_before_the_transfer(sandbox, capsys, args, words):
    write_job("job.json", inFiles="x.root", outFiles="x.root", scopeIn="mc16", scopeOut="mc16")
    code, stderr = run_main(capsys, *args)
    assert code == 2
    assert_one_line(stderr, *words)
    assert_nothing_stored(sandbox)  # --report in a missing folder: checked before anything moved


def test_a_report_that_cannot_be_written_is_named(sandbox, capsys, monkeypatch):
    """A report folder removed during the run: the files are stored, the report's failure is one line."""
    write_job("job.json", outFiles="x.root", scopeOut="mc16")
    (sandbox / "reports").mkdir()
    import copytools.cli.transfer

    def remove_folder_then_write(path, report):
        (sandbox / "reports").rmdir()
        return original(path, report)

    original = copytools.cli.transfer.write_report
    monkeypatch.setattr(copytools.cli.transfer, "write_report", remove_folder_then_write)
    code, stderr = run_main(capsys, "stage-out", "job.json", "-w", "work", "--report", "reports/r.json")
    assert code == 2
    assert_one_line(stderr, "cannot write the report", "reports/r.json")
