"""How long one file may take: the pilot's size-based transfer time-out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine_options import EngineOptions

TIMEOUT_BASE = 400
TIMEOUT_MAX = 3 * 3600


def transfer_timeout(filesize: int, add: int = 0) -> int:
    """Seconds allowed for one file: 400 s plus one second per MB (10^6 bytes) plus `add`, at most 3 h."""
    return min(TIMEOUT_BASE + int(filesize // 1_000_000) + add, TIMEOUT_MAX)


def file_timeout(options: EngineOptions, fspec: Any) -> float:
    """Seconds one attempt at a file may take under these options: their fixed time-out, else the size-based one."""
    if options.timeout is not None:
        return options.timeout
    return float(transfer_timeout(fspec.filesize, options.timeout_add))
