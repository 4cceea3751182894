"""What the stage-in benchmarks over a local xrootd server share: the input files they put on it, and
the plain command (no verification) they compare with."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

Files = list[tuple[str, int, str, str]]  # (lfn, size, url, adler32)


def put_inputs(server: Any, count: int, size: int) -> Files:
    """`count` files of `size` random bytes on the xrootd server, as `bench/fNNNN.root`."""
    files = []
    for i in range(count):
        data = os.urandom(size)
        url = server.put(f"bench/f{i:04d}.root", data)
        files.append((f"f{i:04d}.root", size, url, f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"))
    return files


def time_plain(base: Path, files: Files, tool: str, streams: int) -> float:
    """Seconds for the plain command over all files into a new directory of `base`, nothing verified:
    `xrdcp --parallel <streams>`, or one `gfal-copy --from-file`."""
    target = Path(tempfile.mkdtemp(prefix="plain-", dir=base))
    if tool == "xrdcp":
        command = ["xrdcp", "-np", "-f", "--parallel", str(streams), *[f[2] for f in files], f"{target}/"]
    else:
        sources = base / "sources.txt"
        sources.write_text("".join(f"{f[2]}\n" for f in files))
        command = ["gfal-copy", "-f", "--from-file", str(sources), f"file://{target}/"]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    shutil.rmtree(target)
    return elapsed
