"""Uploads read in this process: the local file read once, each chunk sent, checksummed and counted as
it goes; then the storage's checksum of what it stored, asked once, to compare with the bytes sent."""

from __future__ import annotations

from collections.abc import Callable

from .checksum import MultiChecksum, canonical_type
from .errors import CopytoolsError, ErrorCodes
from .tool import STREAM_CHUNK, CopyContext, CopyResult, os_error


def send_file(source: str, send: Callable[[bytes, int], None], ctx: CopyContext) -> tuple[int, dict[str, str]]:
    """Read a local file in chunks and give each to `send` with its offset; returns (bytes sent, their
    checksums: the context's kinds and adler32).

    Each chunk counts as progress (so a stall is seen, and a cancel stops the copy at the next chunk);
    reads are unbuffered, so a slow source (a FIFO) gives what it has rather than holding a whole chunk.
    An upload's missing checksums are filled with those of the bytes sent: stage-out need not read
    the file beforehand for them.
    """
    running = MultiChecksum(dict.fromkeys((*ctx.kinds, "adler32")))
    offset = 0
    try:
        with open(source, "rb", buffering=0) as local:
            while data := local.read(STREAM_CHUNK):
                send(data, offset)
                running.update(data)
                offset += len(data)
                ctx.progress(len(data))
    except OSError as exc:
        raise os_error(exc, ctx.stagein, source) from None
    sent = running.hexdigests()
    if ctx.fspec is not None and not ctx.stagein:
        for kind, value in sent.items():
            ctx.fspec.checksum.setdefault(kind, value)
    return offset, sent


def verified_upload(
    size: int,
    sent: dict[str, str],
    destination: str,
    ctx: CopyContext,
    stored_checksum: Callable[[str, str], str | None],
) -> CopyResult:
    """The result of an upload: the storage's checksum of what it stored (asked once) and, as `local`,
    that of the bytes sent; the engine compares both with the expected value.

    A storage that gives no checksum fails the attempt (retried): the upload cannot be verified.
    """
    kind = canonical_type(ctx.kinds[0])
    stored = stored_checksum(destination, kind)
    if stored is None:
        raise CopytoolsError(
            f"the storage gave no {kind} of {destination}: the upload cannot be verified",
            code=ErrorCodes.STAGEOUTFAILED,
            state="COPY_ERROR",
            retry=True,
        )
    return CopyResult(size=size, checksums={"local": sent[kind], kind: stored})
