"""A full disk during a copy: NOLOCALSPACE, no partial file, and a moved source left in place.

A file-size limit on a child process makes writes fail as a full disk does (no root or tmpfs needed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from copytools.errors import ErrorCodes

pytestmark = pytest.mark.slow

LIMIT = textwrap.dedent("""
    import resource, signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
""")


def run_limited(body: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", LIMIT + textwrap.dedent(body)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout.split()


def test_stage_in_through_the_client(tmp_path, make_file):
    site = tmp_path / "site"
    work = tmp_path / "work"
    work.mkdir()
    from copytools.localsite import init_site

    local = init_site(str(site))
    adler = make_file(tmp_path / "big.root", 300_000)
    local.catalog.register("mc", "big.root", "LOCAL_DISK", f"file://{tmp_path}/big.root", 300_000, {"adler32": adler})
    out = run_limited(f"""
        from copytools.errors import CopytoolsError
        from copytools.filespec import FileSpec
        from copytools.localsite import load_site
        from copytools.staging import StageInClient
        site = load_site({str(site)!r})
        spec = FileSpec(lfn="big.root", scope="mc")
        try:
            StageInClient(site.queue, site.storages, catalog=site.catalog).transfer([spec], "pr", workdir={str(work)!r})
        except CopytoolsError as exc:
            print(exc.code, spec.status, spec.status_code)
    """)
    assert out == [str(ErrorCodes.NOLOCALSPACE), "failed", str(ErrorCodes.NOLOCALSPACE)]
    assert os.listdir(work) == []


def test_mv_across_file_systems_keeps_the_source(tmp_path, make_file, second_filesystem):
    shm = str(second_filesystem)
    make_file(tmp_path / "src.root", 300_000)
    before = (tmp_path / "src.root").read_bytes()
    dst = os.path.join(shm, f"copytools-full-{os.getpid()}.root")
    out = run_limited(f"""
        from copytools.tools import mv
        print(mv.move({str(tmp_path / "src.root")!r}, {dst!r})[0])
    """)
    assert out == [str(ErrorCodes.NOLOCALSPACE)]
    assert (tmp_path / "src.root").read_bytes() == before
    assert not [n for n in os.listdir(shm) if n.startswith(f"copytools-full-{os.getpid()}")]


@pytest.mark.parametrize("cross_device", [False, True], ids=["copy_file_range", "sendfile"])
def test_kernel_copy_of_a_large_file(tmp_path, make_file, cross_device):
    """The kernel's copy (a chunk at a time, as for files of many MiB) into a full disk."""
    job, work = tmp_path, tmp_path / "work"
    work.mkdir()
    make_file(job / "big.root", 300_000)
    out = run_limited(f"""
        import errno, os
        from copytools import kernelcopy, localcopy
        from copytools.errors import CopytoolsError
        from copytools.filespec import FileSpec
        from copytools.tools import mv
        kernelcopy.KERNEL_CHUNK, localcopy.KERNEL_COPY_MIN = 65536, 1
        if {cross_device}:
            def refuse(*args):
                raise OSError(errno.EXDEV, "cross-device")
            os.copy_file_range = refuse
        spec = FileSpec(lfn="big.root")
        try:
            mv.copy_in([spec], copy_type="cp", workdir={str(work)!r})
        except CopytoolsError as exc:
            print(exc.code, spec.status_code)
    """)
    assert out == [str(ErrorCodes.NOLOCALSPACE)] * 2
    assert os.listdir(work) == []
