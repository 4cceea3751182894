"""A dead or silent storage fails fast with default settings: the right code within a minute, uploads
included, with the real tools. Run in a fresh interpreter without the test suite's own XRD_* settings,
so the product's defaults are what is measured."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from copytools.errors import ErrorCodes
from copytools.gfaltool import GfalTool, load_bindings

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent("""
    import json, sys
    from copytools.engine import Route, Transfer, TransferEngine
    from copytools.filespec import FileSpec
    from copytools.registry import load
    from copytools.tool import ToolSettings
    name, direction, source, destination = sys.argv[1:5]
    spec = FileSpec(lfn="f.root", filesize=10)
    tool = load(name).configured(ToolSettings())
    (outcome,) = TransferEngine(tool, direction).run([Transfer(spec, [Route(source, destination)])])
    print(json.dumps([outcome.status, outcome.code, outcome.state, outcome.attempts, type(tool).__name__]))
""")


@pytest.fixture(params=["refused", "silent"])
def endpoint(request):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if request.param == "silent":
        listener.listen(16)  # accepts connections, never answers
    else:
        listener.close()  # nothing listening
    yield port
    listener.close()


CASES = [
    ("xrdcp", "cli"),
    ("xrdcp", "bindings"),
    ("gfal", "cli"),
    ("gfal", "bindings"),
    ("gfal", "davs"),
    ("gfal", "davs-bindings"),
]


@pytest.mark.parametrize(("name", "how"), CASES, ids=[f"{n}-{h}" for n, h in CASES])
@pytest.mark.parametrize("direction", ["stage-in", "stage-out"])
def test_a_dead_endpoint_fails_within_a_minute(name, how, direction, endpoint, tmp_path):
    if name == "gfal" and not GfalTool().availability()[0]:
        pytest.skip("gfal-copy is not installed")
    if how == "bindings" and name == "xrdcp":
        pytest.importorskip("XRootD.client")
    if how.endswith("bindings") and name == "gfal" and load_bindings() is None:
        pytest.skip("gfal2's Python bindings do not load")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XRD_")}
    env["COPYTOOLS_XRDCP_CLI"] = "1" if how == "cli" else "0"
    env["COPYTOOLS_GFAL_CLI"] = "0" if how.endswith("bindings") else "1"
    local = tmp_path / "f.root"
    remote = f"{'davs' if how.startswith('davs') else 'root'}://127.0.0.1:{endpoint}//data/f.root"
    if direction == "stage-out":
        local.write_bytes(b"0123456789")
        source, destination = str(local), remote
    else:
        source, destination = remote, str(local)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, name, direction, source, destination],
        capture_output=True,
        text=True,
        timeout=170,
        env=env,
        check=False,
    )
    took = time.monotonic() - started
    status, code, state, attempts, tool = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == "failed" and code == ErrorCodes.SERVICENOTAVAILABLE, (code, state, result.stderr[-500:])
    assert took < 60, f"{tool} took {took:.0f} s over {attempts} attempts"
