"""The lsm copytool with copytools' reference lsm-get/lsm-put, run for real through a setup script."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from copytools.catalog import LocalCatalog
from copytools.checksum import calculate_checksum
from copytools.errors import CopytoolsError, ErrorCodes, StageInFailure, StageOutFailure
from copytools.filespec import FileSpec
from copytools.site import queue_from_dict, storages_from_dict
from copytools.staging import StageInClient, StageOutClient
from copytools.tools import lsm
from copytools.tools.common import resolve_common_transfer_errors

from ..clients import stage_out_then_in
from ..servers.movers import scripts_dir, write_setup

pytestmark = pytest.mark.slow


@pytest.fixture
def bare_path(monkeypatch):
    """A PATH without the movers: only the site setup script can provide them."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")


@pytest.fixture
def setup_script(tmp_path) -> str:
    return str(write_setup(tmp_path / "site"))


def mover(name: str, *args: str, env=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(scripts_dir() / name), *map(str, args)], capture_output=True, text=True, env=env, timeout=60
    )


def site(tmp_path: Path, setup: str, token: str = "ATLASDATADISK"):
    queue = queue_from_dict(
        {
            "nickname": "LSM_PQ",
            "acopytools": {"pr": ["lsm"], "pw": ["lsm"]},
            "copytools": {"lsm": {"setup": setup}},
            "astorages": {"read_lan": ["SE"], "pw": ["SE"]},
            "acopytools_schemas": {"default": {"lsm": ["file"]}},  # the reference movers serve posix storage
        }
    )
    protocol = {"endpoint": "file://", "path": f"{tmp_path}/se/rucio/", "flavour": "POSIX", "id": 1}
    storages = storages_from_dict(
        {
            "SE": {
                "token": token,
                "is_deterministic": True,
                "arprotocols": {a: [protocol] for a in ("read_lan", "write_lan")},
            }
        }
    )
    return queue, storages, LocalCatalog(tmp_path / "catalog.sqlite")


def test_reference_movers_copy_and_verify(tmp_path, make_file):
    adler = make_file(tmp_path / "a.dat", 70_000)
    size = str(70_000)
    put = mover(
        "lsm-put",
        "--size",
        size,
        "-t",
        "TOKEN",
        "--checksum",
        f"adler32:{adler}",
        "--guid",
        "G-1",
        tmp_path / "a.dat",
        f"file://{tmp_path}/store/a.dat",
    )
    assert put.returncode == 0, put.stderr
    assert "token=TOKEN" in put.stderr and "guid=G-1" in put.stderr
    get = mover("lsm-get", "--checksum", f"ad:{adler}", f"file://{tmp_path}/store/a.dat", tmp_path / "b.dat")
    assert get.returncode == 0 and calculate_checksum(tmp_path / "b.dat") == adler


@pytest.mark.parametrize(
    ("name", "args", "exit_code", "code"),
    [
        ("lsm-get", ["--checksum", "adler32:00000001", "{src}", "{tmp}/x.dat"], 74, ErrorCodes.GETADMISMATCH),
        ("lsm-put", ["--checksum", "adler32:00000001", "{src}", "{tmp}/x.dat"], 74, ErrorCodes.PUTADMISMATCH),
        ("lsm-get", ["{tmp}/none.dat", "{tmp}/x.dat"], 2, ErrorCodes.MISSINGINPUTFILE),
        ("lsm-put", ["{tmp}/none.dat", "{tmp}/x.dat"], 2, ErrorCodes.NOSUCHFILE),
        ("lsm-put", ["{src}", "{src}"], 17, ErrorCodes.FILEEXISTS),
        ("lsm-get", ["--size", "5", "{src}", "{tmp}/x.dat"], 74, ErrorCodes.GETADMISMATCH),
    ],
)
def test_reference_mover_failures_are_classified(tmp_path, make_file, name, args, exit_code, code):
    make_file(tmp_path / "src.dat", 1000)
    values = {"src": tmp_path / "src.dat", "tmp": tmp_path}
    result = mover(name, *[a.format(**values) for a in args])
    assert result.returncode == exit_code
    assert resolve_common_transfer_errors(result.stderr, name == "lsm-get")["rcode"] == code
    assert not (tmp_path / "x.dat").exists() and not list(tmp_path.glob("*.copytools-part"))


def test_reference_mover_no_space(tmp_path, make_file):
    make_file(tmp_path / "src.dat", 300_000)
    script = textwrap.dedent(f"""
        import resource, signal, subprocess
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        r = subprocess.run([{str(scripts_dir() / "lsm-get")!r}, {str(tmp_path / "src.dat")!r},
                            {str(tmp_path / "x.dat")!r}], capture_output=True, text=True)
        print(r.returncode)
        print(r.stderr)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    code, stderr = out.split("\n", 1)
    assert code == "28" and resolve_common_transfer_errors(stderr, True)["rcode"] == ErrorCodes.NOLOCALSPACE
    assert not (tmp_path / "x.dat").exists()


def test_reference_mover_usage_errors(tmp_path):
    assert mover("lsm-get").returncode == 64
    assert mover("lsm-get", "--checksum", "crc:1", "a", "b").returncode == 64
    assert mover("lsm-put", "a", "root://host//b").returncode == 64


def test_check_for_lsm_through_setup(bare_path, setup_script):
    assert not lsm.check_for_lsm(True) and not lsm.check_for_lsm(False)
    assert lsm.check_for_lsm(True, setup_script) and lsm.check_for_lsm(False, setup_script)


def test_stage_out_and_in_through_the_clients(bare_path, setup_script, tmp_path, make_file):
    names = [f"out{i}.root" for i in range(4)]
    stage_out_then_in(site(tmp_path, setup_script), tmp_path, make_file, names, "user.lsm", tmp_path / "se" / "rucio")


def failed_stage_out(lsm_site, tmp_path, make_file) -> tuple[CopytoolsError, list[FileSpec]]:
    """Stage out one small file with a broken lsm set-up; the error and the file specs."""
    queue, storages, catalog = lsm_site
    make_file(tmp_path / "o.root", 100)
    files = [FileSpec(filetype="output", lfn="o.root", scope="s")]
    client = StageOutClient(queue, storages, catalog=catalog)
    client.prepare_destinations(files, ["pw"])
    with pytest.raises(CopytoolsError) as info:
        client.transfer(files, "pw", workdir=str(tmp_path))
    return info.value, files


def test_missing_movers(bare_path, tmp_path, make_file):
    error, _ = failed_stage_out(site(tmp_path, ""), tmp_path, make_file)
    assert error.code == ErrorCodes.STAGEOUTFAILED and "No LSM tools found" in error.message
    with pytest.raises(StageInFailure, match="No LSM tools found") as info:
        lsm.copy_in([FileSpec(lfn="x", turl="file:///x")], workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.STAGEINFAILED


def test_failing_mover(bare_path, tmp_path):
    bindir = tmp_path / "bad"
    bindir.mkdir()
    for name in ("lsm-get", "lsm-put"):
        script = bindir / name
        script.write_text(
            "#!/bin/sh\necho 'Run: [ERROR] Server responded with an error: storage offline' >&2\nexit 3\n"
        )
        script.chmod(0o755)
    setup = tmp_path / "bad.sh"
    setup.write_text(f'export PATH="{bindir}:$PATH"\n')
    queue, storages, catalog = site(tmp_path, str(setup))
    catalog.register("s", "f.root", "SE", f"file://{tmp_path}/f.root", 10, {"adler32": "00000001"})
    spec = FileSpec(lfn="f.root", scope="s")
    with pytest.raises(CopytoolsError) as info:
        StageInClient(queue, storages, catalog=catalog).transfer([spec], "pr", workdir=str(tmp_path))
    assert info.value.code == ErrorCodes.XRDCPERROR and spec.status_code == ErrorCodes.XRDCPERROR


def test_checksum_mismatch_after_stage_in(bare_path, setup_script, tmp_path, make_file):
    queue, storages, catalog = site(tmp_path, setup_script)
    make_file(tmp_path / "f.root", 5000)
    catalog.register("s", "f.root", "SE", f"file://{tmp_path}/f.root", 5000, {"adler32": "0badc0de"})
    spec = FileSpec(lfn="f.root", scope="s")
    (tmp_path / "in").mkdir()
    with pytest.raises(CopytoolsError):
        StageInClient(queue, storages, catalog=catalog).transfer([spec], "pr", workdir=str(tmp_path / "in"))
    assert spec.status_code == ErrorCodes.GETADMISMATCH and os.listdir(tmp_path / "in") == []


def test_missing_space_token(bare_path, setup_script, tmp_path, make_file):
    error, files = failed_stage_out(site(tmp_path, setup_script, token=""), tmp_path, make_file)
    assert error.code == ErrorCodes.STAGEOUTFAILED
    assert "failed to resolve token value for ddmendpoint=SE" in error.message
    assert files[0].status_code == ErrorCodes.STAGEOUTFAILED
    with pytest.raises(StageOutFailure, match="ddmconf"):
        lsm.copy_out(files, workdir=str(tmp_path))


def test_move_and_legacy_entry_points(tmp_path, make_file, monkeypatch):
    monkeypatch.setenv("PATH", f"{write_setup(tmp_path / 's').parent / 'site movers'}:/usr/bin:/bin")
    (tmp_path / "remote").mkdir()
    (tmp_path / "local").mkdir()
    adler = make_file(tmp_path / "remote" / "a.root", 3000)
    assert (
        lsm.move(
            str(tmp_path / "remote" / "a.root"),
            str(tmp_path / "local" / "a.root"),
            options=f"--checksum adler32:{adler}",
        )[0]
        == 0
    )
    code, _, err = lsm.move(str(tmp_path / "remote" / "none"), str(tmp_path / "local" / "n"))
    assert code == 2 and "No such file or directory" in err
    entries = [{"name": "a.root", "source": str(tmp_path / "remote"), "destination": str(tmp_path / "in")}]
    (tmp_path / "in").mkdir()
    lsm.copy_in_old(entries)
    assert (tmp_path / "in" / "a.root").exists()
    out = [{"name": "a.root", "source": str(tmp_path / "in"), "destination": str(tmp_path / "out")}]
    lsm.copy_out_old(out)
    assert (tmp_path / "out" / "a.root").read_bytes() == (tmp_path / "remote" / "a.root").read_bytes()
    code, message, _ = lsm.move_all_files_in([{"name": "zz", "source": str(tmp_path), "destination": str(tmp_path)}])
    assert code == ErrorCodes.MISSINGINPUTFILE and "No such file" in message
    with pytest.raises(StageOutFailure):
        lsm.copy_out_old([{"name": "zz", "source": str(tmp_path), "destination": str(tmp_path / "o2")}])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(StageInFailure, match="No LSM tools found"):
        lsm.copy_in_old(entries)


def test_is_valid(tmp_path):
    (tmp_path / "o.root").write_bytes(b"x")
    assert lsm.is_valid_for_copy_in([FileSpec(lfn="a", turl="srm://se//a")])
    assert not lsm.is_valid_for_copy_in([FileSpec(lfn="a")])
    assert lsm.is_valid_for_copy_out([FileSpec(lfn="o.root", turl="srm://se//o", surl=str(tmp_path / "o.root"))])
    assert not lsm.is_valid_for_copy_out([FileSpec(lfn="o.root", turl="srm://se//o", surl=str(tmp_path / "no"))])
