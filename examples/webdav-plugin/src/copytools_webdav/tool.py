"""`WebdavTool`: one file over HTTP(S)/WebDAV, the bytes streamed through this process.

Downloads stream a GET into the engine's temporary local name; uploads stream a PUT (the engine
sends them to a temporary name and renames with WebDAV MOVE once verified). Checksums are computed
over the very bytes moved, in the same pass. Requests run in a helper thread so that the engine's
cancellation (time-out, stall) takes effect at once, even while a silent server keeps us waiting.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from copytools.checksum import CHUNK_SIZE, MultiChecksum
from copytools.errors import CopytoolsError, ErrorCodes
from copytools.tool import Cancelled, CopyContext, CopyResult, Copytool, local_path, os_error

from .errors import from_exception, from_status

if TYPE_CHECKING:  # `requests` loads with the first request: `copytools tools` loads every tool's class
    import requests

CONNECT_TIMEOUT = 10.0  # seconds to open a connection
REQUEST_TIMEOUT = 60.0  # seconds to wait for an answer to a request that moves no file
CANCEL_GRACE = 2.0  # seconds a cancelled request is given to stop
SCHEMES = {"dav": "http", "davs": "https", "http": "http", "https": "https"}
T = TypeVar("T")


def http_url(url: str) -> str:
    """`dav://` and `davs://` as `http://` and `https://`; other URLs unchanged."""
    scheme, rest = url.split("://", 1)
    return f"{SCHEMES.get(scheme, scheme)}://{rest}"


def session() -> requests.Session:
    """A session trusting the grid CA directory and presenting the proxy certificate, when there are."""
    import requests

    http = requests.Session()
    ca_dir = os.environ.get("X509_CERT_DIR")
    if ca_dir and not os.environ.get("REQUESTS_CA_BUNDLE"):
        http.verify = ca_dir
    proxy = os.environ.get("X509_USER_PROXY")
    if proxy and os.path.isfile(proxy):
        http.cert = proxy
    return http


def cancellable(ctx: CopyContext, work: Callable[[], T]) -> T:
    """Run `work` in a helper thread; its result, or `Cancelled` as soon as the engine cancels the copy.

    A cancelled helper stops at its next `ctx.progress`, or when its read times out; it is given a
    moment to stop, so that an abandoned upload is over before the engine removes what it wrote.
    """
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed over to the waiting thread
            outcome["error"] = exc
        finally:
            finished.set()

    helper = threading.Thread(target=run, name="webdav-request", daemon=True)
    helper.start()
    ctx.on_cancel(finished.set)
    finished.wait()
    if ctx.cancelled:
        helper.join(CANCEL_GRACE)
        raise Cancelled(ctx.cancel_reason)
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


class MeteredReader:
    """A local file read by `requests` for a PUT: checksummed and reported to the engine chunk by chunk."""

    def __init__(self, stream: BinaryIO, size: int, ctx: CopyContext) -> None:
        self.stream = stream
        self.size = size
        self.ctx = ctx
        self.checksums = MultiChecksum(ctx.kinds)
        self.sent = 0

    def __len__(self) -> int:  # requests sends a Content-Length, not chunked encoding
        return self.size

    def read(self, amount: int = -1) -> bytes:
        data = self.stream.read(amount)
        self.checksums.update(data)
        self.sent += len(data)
        self.ctx.progress(len(data))  # raises Cancelled once the engine stops the copy
        return data


class WebdavTool(Copytool):
    """Copies files to and from WebDAV and HTTP(S) storage with `requests`."""

    name = "webdav"
    allowed_schemas = ("davs", "https", "dav", "http")
    in_process = True  # the bytes pass through this process
    reports_progress = True
    supports_rename = True

    def copy(self, source: str, destination: str, ctx: CopyContext) -> CopyResult:
        if ctx.stagein:
            target = local_path(destination)
            if target is None:
                raise CopytoolsError(f"download target {destination!r} is not local", code=ErrorCodes.STAGEINFAILED)
            try:
                stream = open(target, "wb")  # noqa: SIM115 - opened here, so a late helper never recreates it
            except OSError as exc:
                raise os_error(exc, True, target) from None
            return cancellable(ctx, lambda: self._download(http_url(source), stream, ctx))
        path = local_path(source)
        if path is None:
            raise CopytoolsError(f"upload source {source!r} is not local", code=ErrorCodes.STAGEOUTFAILED)
        return cancellable(ctx, lambda: self._upload(path, http_url(destination), ctx))

    def _download(self, url: str, stream: BinaryIO, ctx: CopyContext) -> CopyResult:
        import requests
        import urllib3

        what = f"GET {url}"
        headers = {"Accept-Encoding": "identity"}  # the bytes as stored, so that the checksums hold
        checksums, size = MultiChecksum(ctx.kinds), 0
        with stream, session() as http:
            try:
                with http.get(url, stream=True, timeout=(CONNECT_TIMEOUT, ctx.timeout), headers=headers) as response:
                    if response.status_code != 200:
                        raise from_status(response, True, what)
                    while chunk := response.raw.read1(CHUNK_SIZE):  # what has arrived, not a full chunk
                        stream.write(chunk)
                        checksums.update(chunk)
                        size += len(chunk)
                        ctx.progress(len(chunk))  # raises Cancelled once the engine stops the copy
            except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
                raise from_exception(exc, True, what) from None
        return CopyResult(size=size, checksums=checksums.hexdigests(), streamed=True)

    def _upload(self, path: str, url: str, ctx: CopyContext) -> CopyResult:
        import requests

        what = f"PUT {url}"
        with session() as http:
            self._make_collection(http, parent(url))
            try:
                with open(path, "rb") as stream:
                    body = MeteredReader(stream, os.fstat(stream.fileno()).st_size, ctx)
                    response = http.put(url, data=body, timeout=(CONNECT_TIMEOUT, ctx.timeout))
            except OSError as exc:
                raise os_error(exc, False, path) from None
            except requests.RequestException as exc:
                raise from_exception(exc, False, what) from None
        if response.status_code not in (200, 201, 204):
            raise from_status(response, False, what)
        return CopyResult(size=body.sent, checksums=body.checksums.hexdigests(), streamed=True)

    def _make_collection(self, http: requests.Session, url: str) -> None:
        """Create a collection and its missing parents; what cannot be made shows in the PUT's answer."""
        import requests

        if urllib.parse.urlsplit(url).path in ("", "/"):
            return
        try:
            if self._request(http, "MKCOL", url).status_code == 409:  # its parent is missing too
                self._make_collection(http, parent(url))
                self._request(http, "MKCOL", url)
        except requests.RequestException as exc:
            raise from_exception(exc, False, f"MKCOL {url}") from None

    def _request(self, http: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
        return http.request(method, url, timeout=(CONNECT_TIMEOUT, REQUEST_TIMEOUT), **kwargs)

    def _answer(self, method: str, url: str, stagein: bool = False, **kwargs: Any) -> requests.Response:
        """One request that moves no file; a failure to get an answer is classified."""
        import requests

        with session() as http:
            try:
                return self._request(http, method, url, **kwargs)
            except requests.RequestException as exc:
                raise from_exception(exc, stagein, f"{method} {url}") from None

    def exists(self, url: str) -> bool:
        response = self._answer("HEAD", http_url(url))
        if response.status_code == 404:
            return False
        if response.status_code >= 400:
            raise from_status(response, False, f"HEAD {url}")
        return True

    def remove(self, url: str) -> None:
        response = self._answer("DELETE", http_url(url))
        if response.status_code >= 400 and response.status_code != 404:
            raise from_status(response, False, f"DELETE {url}")

    def rename(self, temp_url: str, final_url: str) -> None:
        """WebDAV MOVE onto the final name, replacing a file there but never a collection."""
        final = http_url(final_url)
        found = self._answer("PROPFIND", final, headers={"Depth": "0"})
        if found.status_code == 207 and COLLECTION.search(found.text):
            raise CopytoolsError(
                f"cannot rename {temp_url} to {final_url}: a directory is in the way",
                code=ErrorCodes.STAGEOUTFAILED,
                state="COPY_ERROR",
            )
        headers = {"Destination": final, "Overwrite": "T"}
        response = self._answer("MOVE", http_url(temp_url), headers=headers)
        if response.status_code not in (201, 204):
            raise from_status(response, False, f"MOVE {temp_url} to {final_url}")

    def remote_checksum(self, url: str, kind: str) -> str | None:
        """The server's checksum from an RFC 3230 `Digest` header, if it offers one."""
        response = self._answer("HEAD", http_url(url), headers={"Want-Digest": kind})
        for item in response.headers.get("Digest", "").split(","):
            name, _, value = item.strip().partition("=")
            if name.lower() == kind and value:
                return base64.b64decode(value).hex() if kind == "md5" and len(value) == 24 else value.lower()
        return None


COLLECTION = re.compile(r"<([a-z0-9]+:)?collection\s*/?>", re.IGNORECASE)


def parent(url: str) -> str:
    """The URL of the collection holding `url`, with a trailing slash."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/").rsplit("/", 1)[0] + "/", query=""))
