"""Property-based fuzzing of the command line: job, queue and storage descriptions and the arguments.

`copytools.cli.main` runs in this process on generated files in a fresh directory per case. Whatever the
input, it must end with exit status 0, 2 or 12 (argparse's own 0 or 2 for bad arguments), never with an
exception, and nothing may be written outside the case's directory: hostile names aim at a canary
directory beside the sandbox, by `..`, by percent-escapes and by absolute paths (issue 13, item 5).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from copytools.cli import main

EXIT_STATUSES = {0, 2, 12}
# About 1,800 cases in all, under a minute on two cores; FUZZ_EXAMPLES=<n> runs n per test (a longer campaign).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "900"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)

# Names a job gives; `{outside}` becomes the absolute path of the canary directory.
NAMES = ["x.root", "y.root", "EVNT.01.pool.root.1", "log.01.tgz", "user.jdoe", "mc16_13TeV", "group.phys-higgs"]
HOSTILE = [
    "../../../../../../outside",
    "../../../../../../outside/f.root",
    "{outside}",
    "{outside}/f.root",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside",
    "data#1",
    "data?2",
    "a\x00b",
    "esc\x1b[2J",
    "lone\ud800",
    "é" * 128,
    "a" * 300,
    "",
    "NULL",
    "-rf",
    ".",
    "..",
    "[/x]",
    "a,b",
    " ",
    "x.root,x.root",
]
JOB_KEYS = [
    "inFiles",
    "scopeIn",
    "GUID",
    "fsize",
    "checksum",
    "realDatasetsIn",
    "ddmEndPointIn",
    "prodDBlockToken",
    "transferType",
    "outFiles",
    "scopeOut",
    "realDatasets",
    "ddmEndPointOut",
    "logFile",
    "scopeLog",
    "logGUID",
    "PandaID",
    "taskID",
    "prodUserID",
    "jobDefinitionID",
]
VALID_JOB = {
    "inFiles": "x.root,y.root",
    "scopeIn": "mc16,mc16",
    "outFiles": "x.root,y.root,log.01.tgz",
    "scopeOut": "mc16,user.jdoe",
    "logFile": "log.01.tgz",
    "scopeLog": "mc16",
    "PandaID": "42",
}

names = st.sampled_from(NAMES + HOSTILE)
texts = st.one_of(names, st.text(max_size=12), st.lists(names, min_size=1, max_size=3).map(",".join))
# Values a job holds when it is well formed: comma-separated lists of ordinary names.
plain = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(",".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=6
)


def changed(base: dict[str, Any], keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The base with some keys replaced or removed, or another JSON value altogether."""
    edits = st.dictionaries(st.sampled_from(keys), st.one_of(values, st.just(None)), max_size=4)
    edited = edits.map(lambda e: {k: v for k, v in {**base, **e}.items() if v is not None})
    return st.one_of(st.just(base), edited, edited, edited, json_values)


def _as_text(document: Any) -> bytes:
    return json.dumps(document).encode()


# How a description reaches the disk: as JSON, or broken in the ways real files are.
ENCODINGS = [
    _as_text,
    _as_text,
    _as_text,
    lambda d: b"\xff\xfe" + _as_text(d),
    lambda d: _as_text(d)[: len(_as_text(d)) // 2],
    lambda d: b"[" * 50_000 + b"]" * 50_000,
    lambda d: b'{"inFiles": "x.root", "fsize": ' + b"9" * 5000 + b", " + _as_text(d)[1:],
    lambda d: _as_text(d).replace(b"0", b"Infinity", 1).replace(b"1", b"NaN", 1),
    lambda d: b"",
]
encodings = st.sampled_from(ENCODINGS)


def description(base: dict[str, Any], keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.tuples(changed(base, keys, values), encodings).map(lambda pair: pair[1](pair[0]))


class Case:
    """A fresh `<root>/case/a/b/c` sandbox (the current directory) with a site, outputs and a canary."""

    def __init__(self, root: Path, site_files: dict[str, bytes]) -> None:
        self.root = root
        self.top = Path(tempfile.mkdtemp(dir=root))
        self.home = self.top / "a" / "b" / "c"
        self.outside = self.top / "outside"
        (self.home / "work").mkdir(parents=True)
        self.outside.mkdir()
        for name in ("x.root", "y.root", "log.01.tgz"):
            (self.home / "work" / name).write_bytes(b"output " + name.encode())
        (self.home / "site").mkdir()
        for name, content in site_files.items():
            (self.home / "site" / name).write_bytes(content.replace(b"{site}", str(self.home / "site").encode()))

    def write(self, name: str, content: bytes) -> str:
        content = content.replace(b"{outside}", str(self.outside).encode())
        content = content.replace(b"{site}", str(self.home / "site").encode())
        (self.home / name).write_bytes(content)
        return name

    def check(self) -> None:
        """Nothing beside the case, nothing in the canary, nothing left outside `<case>/a`."""
        assert [p.name for p in self.root.iterdir()] == [self.top.name]
        assert list(self.outside.iterdir()) == []
        assert sorted(p.name for p in self.top.iterdir()) == ["a", "outside"]
        assert [p.name for p in (self.top / "a").iterdir()] == ["b"]


@contextlib.contextmanager
def running_in(case: Case) -> Iterator[None]:
    previous_dir, previous_site = os.getcwd(), os.environ.get("COPYTOOLS_SITE")
    os.chdir(case.home)
    os.environ["COPYTOOLS_SITE"] = str(case.home / "site")
    try:
        yield
    finally:
        os.chdir(previous_dir)
        if previous_site is None:
            os.environ.pop("COPYTOOLS_SITE", None)
        else:
            os.environ["COPYTOOLS_SITE"] = previous_site
        shutil.rmtree(case.top)


def run(argv: list[str]) -> int:
    """`main` with its output captured; argparse's exits count as exit statuses."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            assert exc.code in (0, 2), exc.code
            event(f"argparse exit {exc.code}")
            return 2 if exc.code else 0
    assert "Traceback" not in out.getvalue() + err.getvalue()
    event(f"exit {code}")
    if code == 2:  # one line per problem says what is wrong
        lines = err.getvalue().splitlines()
        assert lines and all(line.startswith("copytools: error") for line in lines), err.getvalue()
    return code


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def site_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A valid embedded site's queue and storages, their directory written as `{site}`."""
    directory = tmp_path_factory.mktemp("site")
    assert main(["site", "init", str(directory)]) == 0
    return {
        name: (directory / name).read_bytes().replace(str(directory).encode(), b"{site}")
        for name in ("queue.json", "storages.json")
    }


def _queue(site_files: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(site_files["queue.json"])


QUEUE_KEYS = [
    "nickname",
    "acopytools",
    "acopytools_schemas",
    "copytools",
    "astorages",
    "maxwdir",
    "maxinputsize",
    "allow_lan",
    "direct_access_lan",
    "catchall",
    "params",
]
STORAGE_KEYS = ["arprotocols", "rprotocols", "is_deterministic", "id", "type", "state", "name"]
shapes = st.one_of(
    json_values,
    st.sampled_from(
        [
            "root",
            5,
            {"pr": 5},
            {"pr": {"posix": "file"}},
            {"pw": ["posix", 1]},
            "{'pr': ['posix']}",
            "{'pr': [" * 300,
            ["posix"],
            {"posix": "setup"},
            1e308,
            -1,
            {"write_lan": [{"endpoint": 5}]},
            {"write_lan": [{"endpoint": "file://", "path": "{site}/storage/other/"}]},
        ]
    ),
)

TRANSFER_OPTIONS = {
    "-w": ["work", "work/sub", ".", "job.json", "job.json/sub", "[/x]", "w\udcff", "wo\x00rk"],
    "--activity": ["pr", "pw", "default", "read_lan", "nonsense", ""],
    "--copytool": ["posix", "mv", "warp", ""],
    "--concurrency": ["1", "4", "0", "-3", "many"],
    "--traces": ["off", "traces.jsonl", "missing/t.jsonl", "work", ""],
    "--report": ["r.json", "missing/r.json", "work", "[/x].json"],
    "--site": ["site", "job.json", "fresh/site"],
    "--catalog": ["site/catalog.sqlite", "work", "missing/c.sqlite", "cat.sqlite"],
}
options = st.lists(
    st.sampled_from(sorted(TRANSFER_OPTIONS)).flatmap(
        lambda o: st.tuples(st.just(o), st.sampled_from(TRANSFER_OPTIONS[o]))
    ),
    max_size=4,
    unique_by=lambda pair: pair[0],
)


@FUZZ
@given(
    command=st.sampled_from(["stage-in", "stage-out"]),
    job=st.data(),
    queue=st.data(),
    storages=st.data(),
    given_site=st.sampled_from(["embedded", "embedded", "files"]),
    chosen=options,
    dry_run=st.booleans(),
)
def test_transfers_survive_any_description(
    fuzz_root, site_files, command, job, queue, storages, given_site, chosen, dry_run
):
    case = Case(fuzz_root, site_files)
    with running_in(case):
        argv = [
            command,
            case.write(
                "job.json", job.draw(description(VALID_JOB, JOB_KEYS, st.one_of(plain, plain, texts, json_values)))
            ),
        ]
        argv += ["-w", "work"]
        if given_site == "files":
            queue_doc = queue.draw(description(_queue(site_files), QUEUE_KEYS, shapes))
            storage_doc = json.loads(site_files["storages.json"])["LOCAL_DISK"]
            storage_doc = storages.draw(description(storage_doc, STORAGE_KEYS, shapes))
            argv += ["--queue", case.write("queue.json", queue_doc)]
            argv += ["--storages", case.write("storages.json", b'{"LOCAL_DISK": ' + storage_doc + b"}")]
            argv += ["--catalog", "cat.sqlite"]
        for option, value in chosen:
            argv += [option, value]
        if dry_run:
            argv.append("--dry-run")
        assert run(argv) in EXIT_STATUSES
        case.check()


PATHS = ["x.root", "work/x.root", "work", "missing/x.root", "job.json", "[/x].json", "w\udcff", "a\x00b", "-", ""]
URLS = [
    "file:///nowhere/x",
    "file://localhost/nowhere/x",
    "file://work/x",
    "gopher://h/x",
    "root://",
    "://",
    "work/copy",
]
# Relative names only: a fuzzed argument must never name a real place outside the sandbox.
relative_text = st.text(st.characters(blacklist_characters="/"), max_size=10)
locations = st.one_of(st.sampled_from(PATHS + URLS), relative_text)
copy_args = st.tuples(
    locations,
    locations,
    st.lists(
        st.sampled_from(["--checksum", "--copytool"]).flatmap(
            lambda option: st.tuples(
                st.just(option),
                st.one_of(
                    st.sampled_from(["ad:00000001", "md5:zz", "sha1:abc", "posix", "mv", "warp", ""]),
                    relative_text,
                ),
            )
        ),
        max_size=2,
    ),
).map(lambda t: ["copy", t[0], t[1], *[w for pair in t[2] for w in pair]])
# (--debug is left out: it shows tracebacks on purpose.)
arguments = st.one_of(
    copy_args,
    st.lists(locations, min_size=1, max_size=3).map(lambda paths: ["checksum", *paths]),
    st.lists(st.sampled_from(["fresh", "job.json/site", "[/x]", "w\udcff", "work/x.root"]), max_size=1).map(
        lambda d: ["site", "init", *d]
    ),
    st.tuples(st.sampled_from(["stage-in", "stage-out"]), locations, options).map(
        lambda t: [t[0], t[1], *[w for pair in t[2] for w in pair]]
    ),
    st.lists(st.one_of(st.sampled_from(["copy", "site", "-w", "--version", "-h", "init"]), locations)),
)


@FUZZ
@given(argv=arguments)
def test_any_arguments_end_in_an_exit_status(fuzz_root, site_files, argv):
    case = Case(fuzz_root, site_files)
    with running_in(case):
        case.write("job.json", json.dumps(VALID_JOB).encode())
        assert run(argv) in EXIT_STATUSES
        case.check()
