"""How the engine runs (its options), in a module of their own: the command line shows their defaults
without loading the engine."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class EngineOptions:
    """How the engine runs: concurrency, retries, time-outs, overwrite and stall detection."""

    concurrency: int = 4
    attempts: int = 3
    backoff: float = 0.5
    timeout_add: int = 0
    timeout: float | None = None  # fixed per-file time-out instead of the size-based one
    stall_timeout: float = 120.0
    connect_timeout: float = 30.0  # no byte nor sign of life by then: the storage is not answering
    overwrite: bool = True  # False: an existing destination fails the file (FILEEXISTS) ...
    skip_identical: bool = False  # ... unless it holds the same bytes (size and checksum): then it is done
    verify_checksum: bool = True
    inline_below: int = 256 * 1024  # in-process copies of smaller files run in the calling thread
    retry_only_timeouts: bool = False  # the pilot's legacy movers retry nothing but time-outs
    # Set it (from a signal handler, say) to stop: running copies are cancelled and cleaned up, files
    # not yet started end `interrupted`. Shared by every engine a staging client runs.
    interrupt: threading.Event = field(default_factory=threading.Event)
