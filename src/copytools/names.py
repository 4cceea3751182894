"""File names and paths: safe LFNs, paths inside a work directory, the Rucio deterministic path."""

from __future__ import annotations

import hashlib
import os

from .errors import ErrorCodes, UnsafeName

# Characters a shell would interpret; an LFN holding one is refused rather than quoted.
SHELL_METACHARACTERS = frozenset("|&;<>()$`\\\"'*?[]#~=%!{}\n\r\t ")


def unsafe_reason(lfn: str) -> str:
    """Why a logical file name cannot be used as a file name here, or '' when it can."""
    if not lfn:
        return "it is empty"
    if "\x00" in lfn:
        return "it contains a NUL byte"
    if "/" in lfn:
        return "it contains '/'"
    if lfn in (".", "..") or ".." in lfn.split("/"):
        return "it is '.' or '..'"
    if lfn.startswith("-"):
        return "it starts with '-' and could be read as an option"
    bad = sorted(set(lfn) & SHELL_METACHARACTERS)
    if bad:
        return f"it contains shell metacharacters {''.join(bad)!r}"
    return ""


def check_lfn(lfn: str, code: int = ErrorCodes.STAGEINFAILED) -> str:
    """Return the LFN, or raise `UnsafeName` saying why it is refused."""
    reason = unsafe_reason(lfn)
    if reason:
        raise UnsafeName(f"refusing unsafe file name {lfn!r}: {reason}", code=code)
    return lfn


def path_in(directory: str, lfn: str) -> str:
    """The path of a (checked) LFN directly inside a directory."""
    return os.path.join(directory, check_lfn(lfn))


def rucio_path(scope: str, lfn: str) -> str:
    """Rucio's deterministic `hash` path: `<scope dirs>/<md5[0:2]>/<md5[2:4]>/<lfn>`.

    As Rucio does, dots in the scope become directories only for `user.*` and `group.*` scopes
    (the pilot splits every dotted scope; the two agree on ATLAS-style scopes).
    """
    digest = hashlib.md5(f"{scope}:{lfn}".encode(), usedforsecurity=False).hexdigest()
    scope_dirs = scope.replace(".", "/") if scope.startswith(("user.", "group.")) else scope
    return "/".join(part for part in (scope_dirs, digest[0:2], digest[2:4], lfn) if part)
