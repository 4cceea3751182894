"""Run by the published pilot's interpreter: time pilot.copytool.mv.copy_in in cp mode on given files."""

import json
import sys
import time

from pilot.copytool import mv
from pilot.info.filespec import FileSpec


def main() -> None:
    args = json.load(sys.stdin)
    files = [FileSpec(filetype="input", lfn=lfn, filesize=size) for lfn, size in args["files"]]
    started = time.perf_counter()
    mv.copy_in(files, copy_type="cp", workdir=args["workdir"])
    elapsed = time.perf_counter() - started
    json.dump({"seconds": elapsed, "statuses": sorted({f.status for f in files})}, sys.stdout)


if __name__ == "__main__":
    main()
