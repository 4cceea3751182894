"""Connection-level time-outs for the storage clients, so a dead or silent endpoint fails in seconds.

XRootD clients (xrdcp, xrdfs, the bindings and gfal's xrootd plugin) wait minutes by default before
they give up on a server that refuses or never answers. These defaults apply unless the user set the
variable: the size-based transfer time-out stays the engine's, this only bounds connecting and each
request.
"""

from __future__ import annotations

import functools
import os

# Environment variable: (the bindings' name for it, the value copytools uses unless the user set one).
XROOTD_DEFAULTS = {
    "XRD_CONNECTIONWINDOW": ("ConnectionWindow", 10),  # seconds to connect and handshake
    "XRD_CONNECTIONRETRY": ("ConnectionRetry", 1),  # tries within that window
    "XRD_REQUESTTIMEOUT": ("RequestTimeout", 60),  # seconds for the answer to one request
    "XRD_STREAMTIMEOUT": ("StreamTimeout", 60),  # seconds of silence on a busy stream
    "XRD_TIMEOUTRESOLUTION": ("TimeoutResolution", 1),  # how often the client looks at its time-outs
}


def client_environment() -> dict[str, str]:
    """This process's environment plus the XRootD time-outs the user did not set, for a client process."""
    env = dict(os.environ)
    for key, (_, value) in XROOTD_DEFAULTS.items():
        env.setdefault(key, str(value))
    return env


@functools.cache
def configure_bindings() -> None:
    """Give the XRootD bindings of this process the same time-outs (once), unless the user set them."""
    from XRootD import client

    for key, (name, value) in XROOTD_DEFAULTS.items():
        if key not in os.environ:
            client.EnvPutInt(name, value)  # type: ignore[attr-defined,no-untyped-call]
