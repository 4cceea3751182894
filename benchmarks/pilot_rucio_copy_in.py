"""Run by the published pilot's interpreter: time pilot.copytool.rucio.copy_in on given replicas."""

import json
import os
import sys
import time

os.environ.setdefault("PILOT_USE_RUCIO_TRACES", "False")


def main() -> None:
    args = json.load(sys.stdin)
    try:
        import rucio  # noqa: F401
    except ImportError:  # the pilot's venv lacks the clients: the benchmark's interpreter lends its own
        sys.path.extend(args["fallback_paths"])

    from pilot.copytool import rucio as rucio_copytool
    from pilot.info.filespec import FileSpec
    from pilot.util.tracereport import TraceReport

    files = []
    for lfn, size, turl, adler, scope, rse in args["files"]:
        spec = FileSpec(filetype="input", lfn=lfn, filesize=size, scope=scope, ddmendpoint=rse)
        spec.turl, spec.checksum = turl, {"adler32": adler}
        files.append(spec)
    trace = TraceReport(pq="BENCH", localSite=files[0].ddmendpoint, remoteSite=files[0].ddmendpoint)
    started = time.perf_counter()
    rucio_copytool.copy_in(files, workdir=args["workdir"], trace_report=trace)
    elapsed = time.perf_counter() - started
    json.dump({"seconds": elapsed, "statuses": sorted({str(f.status) for f in files})}, sys.stdout)


if __name__ == "__main__":
    main()
