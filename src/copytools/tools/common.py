"""Helpers every copytool shares, with the pilot's `pilot.copytool.common` behaviour."""

from __future__ import annotations

import os
from typing import Any

from .. import checksum as ck
from ..classify import classify_text, scan_lines
from ..errors import ChecksumError, ErrorCodes
from ..timeouts import transfer_timeout


def get_timeout(filesize: int, add: int = 0) -> int:
    """Seconds allowed for one file: 400 s plus one second per MB (10^6 bytes) plus `add`, at most 3 h."""
    return transfer_timeout(filesize, add)


def checksum_type_of(checksum: dict[str, str] | str | None) -> str:
    """The pilot's checksum type: the first key of a dict; for a string `ad32` (8 chars) or `md5` (32)."""
    if isinstance(checksum, dict):
        return next(iter(checksum), "unknown") or "unknown"
    if isinstance(checksum, str):
        return {8: "ad32", 32: "md5"}.get(len(checksum), "unknown")
    return "unknown"


def verify_catalog_checksum(fspec: Any, path: str) -> tuple[str, str]:
    """Compare the catalog checksum of `fspec` with that of the local file; ('', '') when they agree.

    On failure the file spec is marked failed and (state, diagnostics) is returned. Unlike the pilot,
    values are compared zero-padded and case-insensitive, and an adler32 mismatch has state AD_MISMATCH.
    """
    kind = checksum_type_of(fspec.checksum)
    catalog = fspec.checksum.get(kind, "") if isinstance(fspec.checksum, dict) else fspec.checksum
    if kind == "unknown":
        fspec.status, fspec.status_code = "failed", ErrorCodes.UNKNOWNCHECKSUMTYPE
        return "UNKNOWN_CHECKSUM_TYPE", f"unknown checksum type for checksum(catalog): {fspec.checksum}"
    try:
        kind = ck.canonical_type(kind)
        local = ck.calculate_checksum(path, kind)
    except ChecksumError as exc:
        fspec.status, fspec.status_code = "failed", ErrorCodes.CHECKSUMCALCFAILURE
        return "CHECKSUMCALCULATIONFAILURE", f"failed to calculate checksum for {path}: {exc.message}"
    if local and not ck.same(kind, local, catalog):
        fspec.status = "failed"
        fspec.status_code = ErrorCodes.GETADMISMATCH if kind == "adler32" else ErrorCodes.GETMD5MISMATCH
        diagnostics = (
            f"checksum verification failed for LFN={fspec.lfn}: "
            f"checksum (catalog)={catalog} != checksum (local)={local}"
        )
        return ("AD_MISMATCH" if kind == "adler32" else "MD_MISMATCH"), diagnostics
    return "", ""


def merge_destinations(files: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Group download entries by destination directory; entries for a missing directory are failed."""
    destinations: dict[str, dict[str, Any]] = {}
    for entry in files:
        directory = entry["destination"]
        if not os.path.exists(directory):
            entry.update(status="failed", errmsg=f"Destination directory does not exist: {directory}", errno=1)
            continue
        entry.update(status="running", errmsg="File not yet successfully downloaded.", errno=2)
        group = destinations.setdefault(directory, {"lfns": set(), "files": []})
        group["lfns"].add(f"{entry['scope']}:{entry['name']}")
        group["files"].append(entry)
    return destinations


def get_copysetup(copytools: dict[str, dict[str, Any]] | None, copytool_name: str) -> str | None:
    """The setup script the queue gives for a copytool ('' when none is configured)."""
    if not copytools or copytool_name not in copytools:
        return ""
    setup: str | None = copytools[copytool_name].get("setup")
    return setup


def get_error_info(rcode: int, state: str, error_msg: str) -> dict[str, Any]:
    """The error dict the copytools pass around: `{'rcode', 'state', 'error'}`."""
    return {"rcode": rcode, "state": state, "error": error_msg}


def output_line_scan(ret: dict[str, Any], output: str) -> dict[str, Any]:
    """Refine an error dict from the tool output: a `Details:` line wins, `service_unavailable` sets 1316."""
    ret["rcode"], ret["error"] = scan_lines(output, ret["rcode"], ret["error"])
    return ret


def resolve_common_transfer_errors(output: str, is_stagein: bool = True) -> dict[str, Any]:
    """Classify a transfer tool's output into `{'rcode', 'state', 'error'}` with the pilot's rules."""
    return get_error_info(*classify_text(output, is_stagein))
