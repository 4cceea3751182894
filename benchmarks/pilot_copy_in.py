"""Run by the published pilot's interpreter: time pilot.copytool.<xrdcp|gfal>.copy_in on given replicas."""

import importlib
import json
import os
import sys
import time

os.environ.setdefault("PILOT_USE_RUCIO_TRACES", "False")

from pilot.info.filespec import FileSpec
from pilot.util.tracereport import TraceReport


def main() -> None:
    args = json.load(sys.stdin)
    copytool = importlib.import_module(f"pilot.copytool.{args['copytool']}")
    files = []
    for lfn, size, turl, adler in args["files"]:
        spec = FileSpec(filetype="input", lfn=lfn, filesize=size, scope="bench", ddmendpoint="XRD")
        spec.turl, spec.checksum = turl, {"adler32": adler}
        files.append(spec)
    trace = TraceReport(pq="BENCH", localSite="XRD", remoteSite="XRD", eventType="get_sm")
    started = time.perf_counter()
    copytool.copy_in(files, copytools={args["copytool"]: {"setup": ""}}, workdir=args["workdir"], trace_report=trace)
    elapsed = time.perf_counter() - started
    json.dump({"seconds": elapsed, "statuses": sorted({str(f.status) for f in files})}, sys.stdout)


if __name__ == "__main__":
    main()
