import errno
import hashlib
import io
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copytools import checksum as ck
from copytools.errors import ChecksumError, ErrorCodes


def test_adler32_known_values(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    one = tmp_path / "a"
    one.write_bytes(b"a")
    assert ck.calculate_checksum(empty) == "00000001"
    assert ck.calculate_checksum(one) == "00620062"
    assert ck.calculate_checksum(one, "md5") == hashlib.md5(b"a").hexdigest()


@given(st.lists(st.binary(max_size=3000), max_size=8))
def test_streaming_equals_one_shot(chunks):
    data = b"".join(chunks)
    running = ck.MultiChecksum(["ad32", "md5sum"])
    for chunk in chunks:
        running.update(chunk)
    digests = running.hexdigests()
    assert digests["adler32"] == f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
    assert digests["md5"] == hashlib.md5(data).hexdigest()


@given(st.binary(max_size=5 * 1024))
def test_copy_stream_copies_and_checksums_in_one_pass(data):
    target = io.BytesIO()
    seen = []
    size, digests = ck.copy_stream(io.BytesIO(data), target, ["adler32", "md5"], seen.append)
    assert target.getvalue() == data
    assert size == len(data) == sum(seen)
    assert digests == {"adler32": f"{zlib.adler32(data) & 0xFFFFFFFF:08x}", "md5": hashlib.md5(data).hexdigest()}


def test_large_file_read_in_chunks(tmp_path):
    path = tmp_path / "big"
    data = bytes(range(256)) * (ck.CHUNK_SIZE // 256 * 3 + 7)
    path.write_bytes(data)
    assert ck.calculate_checksum(path) == f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [("adler32", "62006", "00062006"), ("ad", "0X00ABCDEF", "00abcdef"), ("md5", "A" * 32, "a" * 32)],
)
def test_normalize_pads_and_lowercases(kind, value, expected):
    assert ck.normalize(kind, value) == expected
    assert ck.same(kind, value, expected)


@pytest.mark.parametrize(("kind", "value"), [("adler32", "123456789"), ("adler32", "xyz"), ("md5", ""), ("sha1", "ab")])
def test_bad_values_and_types_are_refused(kind, value):
    with pytest.raises(ChecksumError) as info:
        ck.normalize(kind, value)
    assert info.value.code == ErrorCodes.UNKNOWNCHECKSUMTYPE


def test_missing_file_is_a_file_handling_failure(tmp_path):
    with pytest.raises(ChecksumError) as info:
        ck.calculate_checksum(tmp_path / "nope")
    assert info.value.code == ErrorCodes.FILEHANDLINGFAILURE


def test_writing_to_a_full_device_raises_enospc():
    with open("/dev/full", "wb", buffering=0) as full, pytest.raises(OSError) as info:
        ck.copy_stream(io.BytesIO(b"x" * 10), full)
    assert info.value.errno == errno.ENOSPC
