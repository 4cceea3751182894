"""File names and paths: safe LFNs, paths inside a work directory, the Rucio deterministic path."""

from __future__ import annotations

import hashlib
import os
import re
import reprlib

from .errors import ErrorCodes, UnsafeName

# Characters a shell would interpret; an LFN holding one is refused rather than quoted.
SHELL_METACHARACTERS = frozenset("|&;<>()$`\\\"'*?[]#~=%!{}\n\r\t ")
NAME_MAX_BYTES = 255  # the longest file name (one path component) common file systems accept
# Rucio's scope characters; dots become directories for user.* and group.* scopes.
_SCOPE = re.compile(r"[A-Za-z0-9_.\-]+")
# Control characters, line separators and lone surrogates: never part of a name or value from a job.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SHOWN = 60


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist = 3, 6, 6
_SHORT.maxother = _SHORT.maxlong = _SHOWN


def shown(value: object) -> str:
    """A value as a message shows it: its repr, short and shallow, a long text cut with its length given."""
    if not isinstance(value, str):
        return _SHORT.repr(value)
    if len(value) <= _SHOWN:
        return repr(value)
    return f"{value[:_SHOWN]!r}... ({len(value)} characters)"


def text_reason(text: str) -> str:
    """Why a value from a job cannot be used at all (control character, lone surrogate), or ''."""
    found = _UNPRINTABLE.search(text)
    if found is None:
        return ""
    char = found.group()
    if char == "\x00":
        return "it contains a NUL byte"
    if "\ud800" <= char <= "\udfff":
        return f"it contains a lone surrogate {char!r} (not valid Unicode text)"
    return f"it contains the control character {char!r}"


def _too_long(name: str) -> str:
    if len(name) > NAME_MAX_BYTES or len(name.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES:
        return f"it is longer than {NAME_MAX_BYTES} bytes, the longest file name a file system takes"
    return ""


def unsafe_reason(lfn: str) -> str:
    """Why a logical file name cannot be used as a file name here, or '' when it can."""
    if not lfn:
        return "it is empty"
    reason = _too_long(lfn) or text_reason(lfn)
    if reason:
        return reason
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
        raise UnsafeName(f"refusing unsafe file name {shown(lfn)}: {reason}", code=code)
    return lfn


def scope_reason(scope: str) -> str:
    """Why a Rucio scope cannot be used in a path, or '' when it can ('' itself is no scope, allowed)."""
    if not scope:
        return ""
    reason = _too_long(scope) or text_reason(scope)
    if reason:
        return reason
    if not _SCOPE.fullmatch(scope):
        return "a scope holds only letters, digits, '_', '-' and '.'"
    if scope in (".", ".."):
        return "it is '.' or '..'"
    return ""


def check_scope(scope: str, code: int = ErrorCodes.STAGEINFAILED) -> str:
    """Return the scope, or raise `UnsafeName` saying why it is refused."""
    reason = scope_reason(scope)
    if reason:
        raise UnsafeName(f"refusing scope {shown(scope)}: {reason}", code=code)
    return scope


def path_in(directory: str, lfn: str) -> str:
    """The path of a (checked) LFN directly inside a directory."""
    return os.path.join(directory, check_lfn(lfn))


def rucio_path(scope: str, lfn: str, code: int = ErrorCodes.STAGEINFAILED) -> str:
    """Rucio's deterministic `hash` path: `<scope dirs>/<md5[0:2]>/<md5[2:4]>/<lfn>`.

    As Rucio does, dots in the scope become directories only for `user.*` and `group.*` scopes
    (the pilot splits every dotted scope; the two agree on ATLAS-style scopes). A scope or LFN that
    could lead out of the storage's directory (or that a URL would misread) raises `UnsafeName`.
    """
    check_scope(scope, code)
    check_lfn(lfn, code)
    digest = hashlib.md5(f"{scope}:{lfn}".encode(), usedforsecurity=False).hexdigest()
    scope_dirs = scope.replace(".", "/") if scope.startswith(("user.", "group.")) else scope
    return "/".join(part for part in (scope_dirs, digest[0:2], digest[2:4], lfn) if part)
