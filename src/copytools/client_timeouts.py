"""Connection-level time-outs for the storage clients, so a dead or silent endpoint fails in seconds.

XRootD clients (xrdcp, xrdfs, the bindings and gfal's xrootd plugin) wait minutes by default before
they give up on a server that refuses or never answers. These defaults apply unless the user set the
variable: the size-based transfer time-out stays the engine's, this only bounds connecting and each
request. gfal's HTTP plugin has no such setting (each of its requests to a silent server waits a
minute), so HTTP storages are asked first whether they answer at all.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable

# Environment variable: (the bindings' name for it, the value copytools uses unless the user set one).
XROOTD_DEFAULTS = {
    "XRD_CONNECTIONWINDOW": ("ConnectionWindow", 10),  # seconds to connect and handshake
    "XRD_CONNECTIONRETRY": ("ConnectionRetry", 1),  # tries within that window
    "XRD_REQUESTTIMEOUT": ("RequestTimeout", 60),  # seconds for the answer to one request
    "XRD_STREAMTIMEOUT": ("StreamTimeout", 60),  # seconds of silence on a busy stream
    "XRD_TIMEOUTRESOLUTION": ("TimeoutResolution", 1),  # how often the client looks at its time-outs
}
# A checksum query the storage refuses (busy computing others) is asked again after these pauses.
CHECKSUM_RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 4.0)
log = logging.getLogger(__name__)


class Refused(Exception):
    """The storage refused a query for now (busy): asked again later, it may answer."""


def ask_while_refused(url: str, kind: str, ask: Callable[[], str | None]) -> str | None:
    """The storage's `kind` checksum of `url` as `ask()` gets it, asked again after each pause of
    `CHECKSUM_RETRY_DELAYS` while it raises `Refused`; None when the storage has none or still refuses."""
    for delay in (*CHECKSUM_RETRY_DELAYS, None):
        try:
            return ask()
        except Refused as exc:
            if delay is None:
                log.warning("no %s from the storage for %s: %s", kind, url, exc)
                return None
            log.info("checksum query of %s refused (%s); asking again in %g s", url, exc, delay)
            time.sleep(delay)
    return None


def client_environment() -> dict[str, str]:
    """This process's environment plus the XRootD time-outs the user did not set, for a client process."""
    env = dict(os.environ)
    for key, (_, value) in XROOTD_DEFAULTS.items():
        env.setdefault(key, str(value))
    return env


def set_process_defaults() -> None:
    """Put the XRootD time-outs the user did not set into this process's environment, for a client
    library that reads them there when it starts (gfal2's xrootd plugin in this process)."""
    for key, (_, value) in XROOTD_DEFAULTS.items():
        os.environ.setdefault(key, str(value))


@functools.cache
def configure_bindings() -> None:
    """Give the XRootD bindings of this process the same time-outs (once), unless the user set them."""
    from XRootD import client

    for key, (name, value) in XROOTD_DEFAULTS.items():
        if key not in os.environ:
            client.EnvPutInt(name, value)  # type: ignore[attr-defined,no-untyped-call]


HTTP_SCHEMES = {"http": (80, False), "dav": (80, False), "https": (443, True), "davs": (443, True)}
PROBE_TIMEOUT = 10.0  # seconds for an HTTP storage to accept a connection (and a TLS handshake)


def http_silence(url: str, timeout: float = PROBE_TIMEOUT) -> str:
    """Why an HTTP(S)/WebDAV storage does not answer ('' when it does, or when the URL is not HTTP).

    Connects and, for https/davs, completes a TLS handshake; nothing is sent or read, and no
    certificate is judged here (the tool does that when it copies).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in HTTP_SCHEMES or not parts.hostname:
        return ""
    default_port, tls = HTTP_SCHEMES[parts.scheme]
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=timeout) as sock:
            if tls:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                with context.wrap_socket(sock, server_hostname=parts.hostname):
                    pass
    except (OSError, ValueError) as exc:
        return f"connection error: {parts.hostname}:{parts.port or default_port} did not answer ({exc})"
    return ""
