"""Run by the published pilot's interpreter: apply pilot.copytool.common to JSON calls on stdin."""

import json
import sys
from types import SimpleNamespace

from pilot.copytool import common


def main() -> None:
    results = []
    for call in json.load(sys.stdin):
        name, args = call["func"], call["args"]
        if name == "verify_catalog_checksum":
            fspec = SimpleNamespace(lfn=args[0]["lfn"], checksum=args[0]["checksum"], status=None, status_code=0)
            state, diag = common.verify_catalog_checksum(fspec, args[1])
            results.append([state, diag, fspec.status, fspec.status_code])
        elif name == "merge_destinations":
            merged = common.merge_destinations(args[0])
            out = {d: {"lfns": sorted(v["lfns"]), "files": v["files"]} for d, v in merged.items()}
            results.append([out, args[0]])
        else:
            results.append(getattr(common, name)(*args))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
