"""Large local copies: the kernel copies, a thread checksums what the destination holds.

Chunks and the size threshold are made small so that a few hundred KiB exercise every path.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from copytools import kernelcopy, localcopy
from copytools.checksum import calculate_checksum
from copytools.errors import ErrorCodes, StageInFailure
from copytools.filespec import FileSpec
from copytools.localcopy import LocalCopy, create_new
from copytools.tool import STAGE_IN, Cancelled, CopyContext
from copytools.tools import mv

CHUNK = 64 * 1024
SIZE = 5 * CHUNK + 123


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(kernelcopy, "KERNEL_CHUNK", CHUNK)
    monkeypatch.setattr(localcopy, "KERNEL_COPY_MIN", 1)


def kernel_copy_file(src: Path, dst: Path, on_chunk=None):
    with open(src, "rb") as source, create_new(str(dst)) as target:
        return kernelcopy.kernel_copy(source.fileno(), target.fileno(), ("adler32", "md5"), on_chunk)


def checksum_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "checksum"]


def test_copies_in_chunks_and_checksums_the_destination(tmp_path, make_file):
    adler = make_file(tmp_path / "src", SIZE)
    chunks: list[int] = []
    size, sums = kernel_copy_file(tmp_path / "src", tmp_path / "dst", chunks.append)
    assert (tmp_path / "dst").read_bytes() == (tmp_path / "src").read_bytes()
    assert size == SIZE and sums == {"adler32": adler, "md5": calculate_checksum(tmp_path / "src", "md5")}
    assert chunks == [CHUNK] * 5 + [123]
    assert checksum_threads() == []


@pytest.mark.parametrize("code", [errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL])
def test_falls_back_to_sendfile_when_copy_file_range_cannot(tmp_path, make_file, monkeypatch, code):
    adler = make_file(tmp_path / "src", SIZE)
    calls = []

    def refuse(*args):
        calls.append(args)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "copy_file_range", refuse)
    size, sums = kernel_copy_file(tmp_path / "src", tmp_path / "dst")
    assert len(calls) == 1 and (size, sums["adler32"]) == (SIZE, adler)
    assert (tmp_path / "dst").read_bytes() == (tmp_path / "src").read_bytes()


def test_copies_in_user_space_when_the_kernel_cannot(tmp_path, make_file, monkeypatch):
    adler = make_file(tmp_path / "src", SIZE)

    def refuse(*args):
        raise OSError(errno.ENOSYS, "not here")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    monkeypatch.setattr(os, "sendfile", refuse)
    assert kernel_copy_file(tmp_path / "src", tmp_path / "dst") is None
    assert (tmp_path / "dst").stat().st_size == 0
    result = LocalCopy("cp").copy(str(tmp_path / "src"), str(tmp_path / "copy"), CopyContext(STAGE_IN, 60))
    assert (result.size, result.checksums, result.streamed) == (SIZE, {"adler32": adler}, True)
    assert (tmp_path / "copy").read_bytes() == (tmp_path / "src").read_bytes()


def test_other_errors_are_raised_not_hidden(tmp_path, make_file, monkeypatch):
    make_file(tmp_path / "src", SIZE)
    real = os.copy_file_range
    calls = []

    def fill_up(source, target, count):
        calls.append(count)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(source, target, count)

    monkeypatch.setattr(os, "copy_file_range", fill_up)
    with pytest.raises(OSError) as info:
        kernel_copy_file(tmp_path / "src", tmp_path / "dst")
    assert info.value.errno == errno.ENOSPC and len(calls) == 3
    assert checksum_threads() == []


def test_checksum_is_of_the_bytes_at_the_destination(tmp_path, make_file, monkeypatch):
    """A copy that lands other bytes than the source's is reported, and fails verification."""
    job, work = tmp_path, tmp_path / "work"
    work.mkdir()
    adler = make_file(job / "in.root", SIZE)
    real = os.copy_file_range

    def corrupting(source, target, count):
        copied = real(source, target, count)
        if copied:
            os.pwrite(target, b"\xff", os.lseek(target, 0, os.SEEK_CUR) - 1)
        return copied

    monkeypatch.setattr(os, "copy_file_range", corrupting)
    size, sums = kernel_copy_file(job / "in.root", tmp_path / "dst")
    assert sums["adler32"] == calculate_checksum(tmp_path / "dst") != adler
    with pytest.raises(StageInFailure) as info:
        mv.copy_in([FileSpec(lfn="in.root", checksum={"adler32": adler})], copy_type="cp", workdir=str(work))
    assert info.value.code == ErrorCodes.GETADMISMATCH
    assert os.listdir(work) == []


def test_cancellation_stops_between_chunks(tmp_path, make_file):
    make_file(tmp_path / "src", SIZE)
    ctx = CopyContext(STAGE_IN, 60, on_progress=lambda n: ctx.cancel("stopped by the test"))
    with pytest.raises(Cancelled):
        LocalCopy("cp").copy(str(tmp_path / "src"), str(tmp_path / "dst"), ctx)
    assert ctx.bytes_done == CHUNK and (tmp_path / "dst").stat().st_size == CHUNK
    assert checksum_threads() == []


def test_copy_in_through_the_engine_and_across_file_systems(tmp_path, make_file, second_filesystem):
    job, work = tmp_path, tmp_path / "work"
    work.mkdir()
    adler = make_file(job / "in.root", SIZE)
    files = mv.copy_in([FileSpec(lfn="in.root", checksum={"adler32": adler})], copy_type="cp", workdir=str(work))
    assert files[0].status == "transferred" and calculate_checksum(work / "in.root") == adler
    other = Path(second_filesystem) / f"copytools-kernelcopy-{os.getpid()}"
    try:
        result = LocalCopy("cp").copy(str(job / "in.root"), str(other), CopyContext(STAGE_IN, 60))
        assert result.checksums == {"adler32": adler} and other.read_bytes() == (job / "in.root").read_bytes()
    finally:
        other.unlink(missing_ok=True)
