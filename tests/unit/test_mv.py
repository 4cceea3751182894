"""The mv copytool's seed functions, with the pilot's layout: inputs from the parent of workdir, outputs to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from copytools.checksum import calculate_checksum
from copytools.errors import ErrorCodes, MKDirFailure, StageInFailure, StageOutFailure
from copytools.filespec import FileSpec
from copytools.names import rucio_path
from copytools.tools import mv


@pytest.fixture
def layout(tmp_path, make_file):
    """<tmp>/job is the ARC session dir holding the inputs; <tmp>/job/work is the pilot's workdir."""
    job = tmp_path / "job"
    work = job / "work"
    work.mkdir(parents=True)
    sums = {name: make_file(job / name, 4096 + i, seed=i) for i, name in enumerate(("a.root", "b.root"))}
    return job, work, sums


def _inputs(sums):
    return [FileSpec(lfn=name, checksum={"adler32": value}) for name, value in sums.items()]


def test_copy_in_symlinks_by_default(layout):
    job, work, sums = layout
    files = mv.copy_in(_inputs(sums), workdir=str(work))
    for fspec in files:
        assert (fspec.status, fspec.status_code, fspec.checkinputsize) == ("transferred", 0, False)
        assert os.path.islink(work / fspec.lfn) and os.readlink(work / fspec.lfn) == str(job / fspec.lfn)


def test_copy_in_cp_verifies_checksums(layout):
    job, work, sums = layout
    files = mv.copy_in(_inputs(sums), copy_type="cp", workdir=str(work))
    assert all(f.status == "transferred" and f.checkinputsize for f in files)
    assert all(calculate_checksum(work / n) == v and not os.path.islink(work / n) for n, v in sums.items())
    bad = FileSpec(lfn="a.root", checksum={"adler32": "00000001"})
    with pytest.raises(StageInFailure) as info:
        mv.copy_in([bad], copy_type="cp", workdir=str(work), jobworkdir=str(job))
    assert info.value.code == ErrorCodes.GETADMISMATCH


def test_copy_in_mv_moves_and_jobworkdir(layout):
    job, work, sums = layout
    target = job / "jobdir"
    target.mkdir()
    mv.copy_in(_inputs(sums), copy_type="mv", workdir=str(work), jobworkdir=str(target))
    assert sorted(os.listdir(target)) == ["a.root", "b.root"]
    assert not (job / "a.root").exists()


def test_copy_in_errors(layout):
    _, work, sums = layout
    with pytest.raises(StageInFailure, match="incorrect method for copy in"):
        mv.copy_in(_inputs(sums), copy_type="rsync", workdir=str(work))
    with pytest.raises(StageInFailure, match="workdir is not specified"):
        mv.copy_in(_inputs(sums))
    with pytest.raises(StageInFailure) as info:
        mv.copy_in([FileSpec(lfn="absent.root")], copy_type="cp", workdir=str(work))
    assert info.value.code == ErrorCodes.MISSINGINPUTFILE
    direct = FileSpec(lfn="a.root", accessmode="direct")
    with pytest.raises(StageInFailure, match="bad queue configuration") as info:
        mv.copy_in([direct], workdir=str(work), allow_direct_access=True)
    assert direct.status_code == ErrorCodes.BADQUEUECONFIGURATION


def test_copy_in_final_destination_mode_reads_the_rucio_path(tmp_path, make_file):
    work = tmp_path / "work"
    source = work / rucio_path("user.me", "f.root")
    source.parent.mkdir(parents=True)
    make_file(source, 1000)
    fspec = FileSpec(lfn="f.root", scope="user.me")
    mv.copy_in([fspec], copy_type="cp", workdir=str(work), mvfinaldest=True)
    assert fspec.status == "transferred" and (work / "f.root").read_bytes() == source.read_bytes()


def test_copy_out_moves_to_the_parent_and_writes_output_list(layout, make_file):
    job, work, _ = layout
    adler = make_file(work / "out.root", 10_000)
    fspec = FileSpec(filetype="output", lfn="out.root", checksum={"adler32": adler}, turl="root://se//out.root")
    mv.copy_out([fspec], workdir=str(work))
    assert fspec.status == "transferred" and not (work / "out.root").exists()
    assert calculate_checksum(job / "out.root") == adler
    assert (
        job / "output.list"
    ).read_text() == f"out.root root://se//out.root:checksumtype=adler32:checksumvalue={adler}\n"


def test_copy_out_cp_keeps_the_source_and_s3_output_list(layout, make_file):
    job, work, _ = layout
    make_file(work / "o.root", 100)
    fspec = FileSpec(filetype="output", lfn="o.root", turl="s3://bucket/o.root", ddmendpoint="OS_ES")
    mv.copy_out([fspec], copy_type="cp", workdir=str(work), output_dir="")
    assert (work / "o.root").exists() and (job / "o.root").exists()
    line = (job / "output.list").read_text()
    assert line == (
        "o.root rucio://rucio-lb-prod.cern.ch;failureallowed=yes/objectstores/s3+rucio://bucket/o.root/OS_ES/write\n"
    )


def test_copy_out_errors(layout, make_file):
    _, work, _ = layout
    with pytest.raises(StageOutFailure, match="incorrect method for copy out"):
        mv.copy_out([], copy_type="symlink", workdir=str(work))
    with pytest.raises(StageOutFailure, match="Workdir is not specified"):
        mv.copy_out([])
    make_file(work / "x.root", 10)
    blocked = work / "file-not-dir"
    blocked.write_text("")
    fspec = FileSpec(filetype="output", lfn="x.root", turl=f"file://localhost{blocked}/sub/x.root")
    with pytest.raises(MKDirFailure) as info:
        mv.copy_out([fspec], workdir=str(work), mvfinaldest=True)
    assert info.value.code == ErrorCodes.MKDIR and (work / "x.root").exists()


def test_copy_out_final_destination_mode(layout, make_file, tmp_path):
    _, work, _ = layout
    make_file(work / "f.root", 500)
    final = tmp_path / "store" / "user" / "me" / "f.root"
    fspec = FileSpec(filetype="output", lfn="f.root", turl=f"file://localhost{final}")
    mv.copy_out([fspec], workdir=str(work), mvfinaldest=True, output_dir="/elsewhere")
    assert fspec.status == "transferred" and final.exists() and not (work / "f.root").exists()


def test_move_removes_the_source_only_after_the_destination_is_complete(tmp_path, make_file):
    make_file(tmp_path / "src", 1000)
    if os.geteuid() != 0:  # root may write into a read-only directory
        (tmp_path / "ro").mkdir(mode=0o500)
        code, _, err = mv.move(str(tmp_path / "src"), str(tmp_path / "ro" / "dst"))
        assert code != 0 and err and (tmp_path / "src").exists()
    code, _, err = mv.move(str(tmp_path / "src"), str(tmp_path / "nodir" / "dst"))
    assert code != 0 and "Destination directory does not exist" in err and (tmp_path / "src").exists()
    assert mv.move(str(tmp_path / "src"), str(tmp_path / "dst"))[0] == 0
    assert (tmp_path / "dst").exists() and not (tmp_path / "src").exists()


def test_move_across_file_systems_copies_then_unlinks(tmp_path, make_file, second_filesystem):
    shm = str(second_filesystem)
    make_file(tmp_path / "src", 5000)
    expected = (tmp_path / "src").read_bytes()
    dst = os.path.join(shm, f"copytools-test-{os.getpid()}")
    try:
        assert mv.move(str(tmp_path / "src"), dst)[0] == 0
        assert Path(dst).read_bytes() == expected and not (tmp_path / "src").exists()
    finally:
        if os.path.exists(dst):
            os.unlink(dst)


def test_copy_and_symlink_helpers(tmp_path, make_file):
    make_file(tmp_path / "src", 2000)
    assert mv.copy(str(tmp_path / "src"), str(tmp_path / "c")) == (0, "", "")
    assert (tmp_path / "c").read_bytes() == (tmp_path / "src").read_bytes()
    assert mv.symlink(str(tmp_path / "src"), str(tmp_path / "l")) == (0, "", "")
    assert os.path.islink(tmp_path / "l")
    code, _, err = mv.copy(str(tmp_path / "nope"), str(tmp_path / "d"))
    assert code == ErrorCodes.MISSINGINPUTFILE and "No such file or directory" in err


def test_move_all_files_rejects_unknown_method(layout):
    _, work, sums = layout
    assert mv.move_all_files(_inputs(sums), "rsync", str(work), "") == (-1, "", "incorrect copy method")


def test_is_valid_checks_real_conditions(layout, make_file):
    job, work, sums = layout
    assert mv.is_valid_for_copy_in(_inputs(sums), workdir=str(work))
    assert not mv.is_valid_for_copy_in([FileSpec(lfn="missing.root")], workdir=str(work))
    make_file(work / "o.root", 10)
    (work / "empty.root").write_bytes(b"")
    assert mv.is_valid_for_copy_out([FileSpec(filetype="output", lfn="o.root")], workdir=str(work))
    assert not mv.is_valid_for_copy_out([FileSpec(filetype="output", lfn="empty.root")], workdir=str(work))
    assert not mv.is_valid_for_copy_out([FileSpec(filetype="output", lfn="none.root")], workdir=str(work))


def test_module_attributes_match_the_pilot():
    assert (mv.require_replicas, mv.check_availablespace, mv.allowed_schemas) == (False, False, None)
    assert not hasattr(mv, "require_protocols")
    assert mv.get_dir_path("file://localhost/sphenix/x/01/9f/f.tar") == "/sphenix/x/01/9f"
