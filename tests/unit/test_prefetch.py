"""The batch hand-over: names, rounds, time bound, gfal-copy's report, and what a hand-over does."""

from __future__ import annotations

from pathlib import Path

import pytest

from copytools.errors import CopytoolsError, ErrorCodes
from copytools.filespec import FileSpec
from copytools.gfaltool import copied_files
from copytools.prefetch import Fetched, PrefetchedTool, copy_name, rounds, staged
from copytools.tool import STAGE_IN, BatchLimits, CopyContext, CopyResult, Copytool


def test_copy_names_are_the_last_path_part_when_sure():
    assert copy_name("root://se:1094//atlas/rucio/mc/ab/cd/f.root") == "f.root"
    unsure = [
        "root://se//atlas/f%20g.root",
        "root://se//atlas/",
        "root://se//a/..",
        "root://se//a/f g",
        "",
        "davs://se/data/f.root?authz=x",  # gfal-copy names that copy `f.root?authz=x`
        "root://se//a/x?p=/q/f.root",
        "davs://se/data/f.root#y",
        "root://[::1/a/f.root",  # does not parse
    ]
    assert [copy_name(url) for url in unsure] == [None] * len(unsure)


def test_rounds_keep_names_distinct_and_skip_the_unnamed():
    files = ["a/x", "b/x", "a/y", "c/x", "z/", "b/y"]
    assert rounds(files, lambda f: f.rpartition("/")[2] or None) == [["a/x", "a/y"], ["b/x", "b/y"], ["c/x"]]


def test_the_time_a_batch_may_take():
    limits = BatchLimits(file_timeout=lambda f: float(f))
    assert limits.timeout([10, 10, 10, 10], 1) == 40  # one after the other
    assert limits.timeout([10, 10, 10, 10], 2) == 30  # sum over the streams, plus the longest
    assert limits.timeout([100, 1, 1], 8) == 102  # never less than the longest, never more than the sum
    assert BatchLimits().timeout([FileSpec(lfn="a", filesize=5_000_000)], 4) == 405  # the pilot's 400 s + 1 s/MB


def test_gfal_copy_report_trusts_each_destination_written_once_without_error():
    output = "\n".join(
        [
            "Copying 10 bytes root://se//a/f.root => file:///s/0/f.root",
            "ERROR (2): Could not stat the source: Failed to stat file (No such file or directory)",  # the next one's
            "Copying 10 bytes root://se//a/g.root => file:///s/0/g.root",
            "ERROR (5): transfer failed",
            "Copying 10 bytes root://se//a/h.root => file:///s/0/h.root",
            "Copying 10 bytes root://se//d/h.root => file:///s/0/h.root",  # a directory's child over it
            "Copying 10 bytes root://se//a/i.root => file:///s/0/i.root",
        ]
    )
    assert copied_files(output, complete=True) == {
        "/s/0/f.root": "root://se//a/f.root",
        "/s/0/i.root": "root://se//a/i.root",
    }
    # stopped (killed at its time limit): the copy it was making is not trusted
    assert copied_files(output, complete=False) == {"/s/0/f.root": "root://se//a/f.root"}


class Alone(Copytool):
    """Records the files it is asked to copy alone, and writes them."""

    name = "alone"

    def __init__(self) -> None:
        self.copied: list[str] = []

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        self.copied.append(source)
        Path(destination).write_bytes(b"alone")
        return CopyResult()


def handover(tmp_path: Path, fetched: dict[str, Fetched]) -> tuple[PrefetchedTool, Alone]:
    fallback = Alone()
    return PrefetchedTool("batch", lambda source, fspec: fetched.pop(fspec.lfn, None), fallback), fallback


def context(lfn: str) -> CopyContext:
    ctx = CopyContext(STAGE_IN, 10)
    ctx.fspec = FileSpec(lfn=lfn)
    return ctx


def test_a_hand_over_moves_the_file_and_keeps_what_the_tool_said(tmp_path):
    (tmp_path / "staged").write_bytes(b"12345")
    said = CopyResult(size=5, checksums={"adler32": "0000abcd"})
    tool, fallback = handover(tmp_path, {"f": Fetched(str(tmp_path / "staged"), "root://se//f", said)})
    result = tool.copy("root://se//f", str(tmp_path / "f"), context("f"))
    assert (tmp_path / "f").read_bytes() == b"12345" and not (tmp_path / "staged").exists()
    assert (result.size, result.checksums, result.streamed) == (5, {"adler32": "0000abcd"}, False)
    assert tool.name == "batch" and fallback.copied == []


def test_a_batch_error_is_raised_once_then_the_file_is_copied_alone(tmp_path):
    error = CopytoolsError("[ERROR] [3011] no such file", code=ErrorCodes.MISSINGINPUTFILE)
    fetched = {"f": Fetched(str(tmp_path / "none"), "root://se//f", error=error)}
    tool, fallback = handover(tmp_path, fetched)
    with pytest.raises(CopytoolsError) as info:
        tool.copy("root://se//f", str(tmp_path / "f"), context("f"))
    assert info.value is error and fallback.copied == []
    tool.copy("root://se//f", str(tmp_path / "f"), context("f"))
    assert fallback.copied == ["root://se//f"]


def test_another_source_or_a_file_not_brought_is_copied_alone(tmp_path):
    (tmp_path / "staged").write_bytes(b"batch")
    fetched = {"f": Fetched(str(tmp_path / "staged"), "root://se1//f"), "g": Fetched(str(tmp_path / "gone"))}
    tool, fallback = handover(tmp_path, fetched)
    tool.copy("root://se2//f", str(tmp_path / "f"), context("f"))  # a second replica: not the batch's copy
    tool.copy("root://se1//g", str(tmp_path / "g"), context("g"))
    assert fallback.copied == ["root://se2//f", "root://se1//g"]
    assert (tmp_path / "f").read_bytes() == b"alone"


def test_without_a_fallback_a_file_not_brought_fails(tmp_path):
    tool = PrefetchedTool("batch", lambda source, fspec: None)
    with pytest.raises(CopytoolsError) as info:
        tool.copy("root://se//f", str(tmp_path / "f"), context("f"))
    assert info.value.code == ErrorCodes.STAGEINFAILED


def test_staged_runs_rounds_of_two_or_more_and_removes_its_directory(tmp_path):
    calls: list[list[str]] = []

    def fetch(batch: list[FileSpec], directory: str) -> dict[int, Fetched]:
        calls.append([f.lfn for f in batch])
        for fspec in batch:
            Path(directory, fspec.lfn).write_bytes(b"x")
        return {id(f): Fetched(str(Path(directory, f.lfn))) for f in batch}

    files = [FileSpec(lfn=n) for n in ("a", "b", "a", "c")]
    fallback = Alone()
    with staged(fallback, files, str(tmp_path), fetch, lambda f: f.lfn) as tool:
        assert isinstance(tool, PrefetchedTool) and tool.name == "alone"
        assert len(list(tmp_path.iterdir())) == 1
    assert calls == [["a", "b", "c"]]  # the second "a" alone is left to the per-file path
    assert list(tmp_path.iterdir()) == []
    with staged(fallback, files[:1], str(tmp_path), fetch, lambda f: f.lfn) as tool:
        assert tool is fallback


def test_a_batch_call_that_fails_leaves_its_files_to_the_per_file_path(tmp_path):
    def fetch(batch: list[FileSpec], directory: str) -> dict[int, Fetched]:
        Path(directory, "partial").write_bytes(b"x")
        raise OSError("cannot start the command")

    files = [FileSpec(lfn=n) for n in ("a", "b")]
    fallback = Alone()
    (tmp_path / "work").mkdir()
    with staged(fallback, files, str(tmp_path / "work"), fetch, lambda f: f.lfn) as tool:
        assert isinstance(tool, PrefetchedTool)
        tool.copy("root://se//a", str(tmp_path / "a"), context("a"))
    assert fallback.copied == ["root://se//a"] and list((tmp_path / "work").iterdir()) == []


def test_a_work_directory_where_no_batch_can_be_made_leaves_the_files_to_the_per_file_path(tmp_path):
    def fetch(batch: list[FileSpec], directory: str) -> dict[int, Fetched]:
        raise AssertionError("no batch can run without its directory")

    files = [FileSpec(lfn=n) for n in ("a", "b")]
    fallback = Alone()
    with staged(fallback, files, str(tmp_path / "missing"), fetch, lambda f: f.lfn) as tool:
        assert tool is fallback
