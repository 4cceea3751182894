"""The `copytools` command: stage-in, stage-out, copy, checksum, tools, site init."""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from rich.console import Console

from . import registry
from ._version import __version__
from .availability import tool_availability
from .catalog import LocalCatalog
from .checksum import calculate_checksum
from .console import ProgressView, plain, print_rows, print_summary
from .engine import EngineOptions, Route, Transfer, TransferEngine
from .errors import BadJobDescription, CopytoolsError, ErrorCodes
from .filespec import DONE_STATUSES, FileSpec, InputColumns, job_parts, parse_checksum
from .interrupts import stop_on_signals
from .localsite import default_directory, init_site
from .names import shown
from .plan import PlanEntry, plan_stage_in, plan_stage_out
from .report import SpooledReport, write_report
from .site import load_queue, load_storages, read_json
from .staging import StageInClient, StageOutClient
from .tool import STAGE_IN, STAGE_OUT, ToolSettings, local_path
from .trace import job_fields, sender_for

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_TRANSFER_FAILED = 12  # the pilot's stage-in/out scripts use 12 for a transfer error
FILES_PER_BATCH = 2000  # stage-in: the inputs whose file specs, outcomes and report entries are held at once

SCHEME_TOOLS = {
    "file": "posix",
    "root": "xrdcp",
    "xroot": "xrdcp",
    "davs": "gfal",
    "https": "gfal",
    "http": "gfal",
    "dav": "gfal",
    "srm": "gfal",
    "gsiftp": "gfal",
}

log = logging.getLogger("copytools")


class UsageError(Exception):
    """Bad input from the user: a message that names the problem and the fix."""


def _add_site_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--site", help=f"embedded site directory (default: ${{COPYTOOLS_SITE}} or {default_directory()})"
    )
    parser.add_argument("--queue", help="queue description (CRIC JSON) instead of the embedded site's")
    parser.add_argument("--storages", help="storage descriptions (CRIC ddmendpoints JSON) instead of the site's")
    parser.add_argument("--catalog", help="replica catalog (SQLite file) instead of the site's")
    parser.add_argument("--rucio-host", help="resolve replicas from this Rucio server (URL) instead")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is less than 1")
    return value


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds above 0")
    return value


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    defaults = EngineOptions()
    parser.add_argument(
        "--timeout", type=positive_seconds, help="seconds per file (default: 400 + 1 per MB, at most 3 h)"
    )
    parser.add_argument(
        "--connect-timeout",
        type=positive_seconds,
        default=defaults.connect_timeout,
        help=f"seconds for a storage to answer at all (default: {defaults.connect_timeout:g})",
    )
    parser.add_argument(
        "--retries",
        type=int,
        choices=range(0, 10),
        metavar="N",
        default=defaults.attempts - 1,
        help=f"retries of a transient failure on the same replica (0-9, default: {defaults.attempts - 1})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress display, even on a terminal")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only failures and the summary")


def engine_options(args: argparse.Namespace, overwrite: bool = True, skip_identical: bool = False) -> EngineOptions:
    """The engine's options from the command line's."""
    return EngineOptions(
        concurrency=getattr(args, "concurrency", 1),
        attempts=args.retries + 1,
        timeout=args.timeout,
        connect_timeout=args.connect_timeout,
        overwrite=overwrite,
        skip_identical=skip_identical,
    )


def _add_transfer_options(parser: argparse.ArgumentParser, default_activity: str) -> None:
    parser.add_argument("job", help="PanDA job description (JSON)")
    parser.add_argument("--workdir", "-w", required=True, help="the job's work directory")
    parser.add_argument("--activity", default=default_activity, help=f"storage activity (default: {default_activity})")
    parser.add_argument("--copytool", help="use this copytool instead of the queue's copytools for the activity")
    parser.add_argument("--concurrency", type=positive_int, default=EngineOptions().concurrency, help="files at once")
    _add_engine_options(parser)
    parser.add_argument("--traces", default="off", help="trace destination: http(s) URL, JSON-lines file or 'off'")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    parser.add_argument("--report", help="write a JSON report of every file to this path")
    _add_site_options(parser)


class _Parser(argparse.ArgumentParser):
    """argparse, with a suggestion for a mistyped command or choice."""

    def error(self, message: str) -> NoReturn:
        match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if match:
            choices = re.findall(r"'([^']*)'", match.group(2))
            close = difflib.get_close_matches(match.group(1), choices, n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="copytools", description="Stage a grid job's files in and out of storage.")
    parser.add_argument("--version", action="version", version=f"copytools {__version__}")
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks")
    parser.add_argument("--verbose", "-v", action="store_true", help="log each attempt and decision")
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as text or as JSON objects"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    stage_in = commands.add_parser("stage-in", help="copy a job's input files into its work directory")
    _add_transfer_options(stage_in, "pr")
    stage_in.add_argument(  # internal: tests run a small job in several batches
        "--files-per-batch", type=positive_int, default=FILES_PER_BATCH, help=argparse.SUPPRESS
    )
    stage_in.add_argument(
        "--force", action="store_true", help="copy inputs again even when already there with the right checksum"
    )
    stage_out = commands.add_parser("stage-out", help="copy a job's output files to storage")
    _add_transfer_options(stage_out, "pw")
    stage_out.add_argument(
        "--overwrite", action="store_true", help="replace a stored file whose checksum differs (default: fail, 1221)"
    )
    copy = commands.add_parser("copy", help="copy one file; the copytool is chosen by URL scheme")
    copy.add_argument("source")
    copy.add_argument("destination")
    copy.add_argument("--checksum", help="expected checksum, e.g. ad:0a1b2c3d or md5:<32 hex>")
    copy.add_argument("--copytool", help="copytool to use instead of the one for the URL scheme")
    copy.add_argument("--force", "-f", action="store_true", help="replace an existing destination")
    copy.add_argument("--parents", "-p", action="store_true", help="make the destination's missing folders")
    _add_engine_options(copy)
    checksum = commands.add_parser("checksum", help="adler32 and md5 of local files")
    checksum.add_argument("files", nargs="+")
    tools = commands.add_parser(
        "tools",
        help="which copytools can run here, and why not",
        description="Which copytools can run here, and why not. The tools' commands are asked for their "
        "versions; an answer is remembered (in $XDG_CACHE_HOME/copytools, at most an hour) while the "
        "command's file, its interpreter and the environment that chooses them are unchanged.",
    )
    tools.add_argument("--recheck", action="store_true", help="ask every command again, remembering nothing")
    site = commands.add_parser("site", help="the embedded local site")
    site_commands = site.add_subparsers(dest="site_command", required=True)
    init = site_commands.add_parser("init", help="create the embedded site (posix storage, queue, catalog)")
    init.add_argument("directory", nargs="?", default=None)
    return parser


def _load_job(path: str) -> dict[str, Any]:
    try:
        job = read_json(path, "job description")
    except CopytoolsError as exc:
        raise UsageError(f"{exc.message}. Give the path of a PanDA job description in JSON.") from None
    if not isinstance(job, dict):
        raise UsageError(f"job description {path} must be a JSON object with keys such as inFiles and outFiles.")
    return job


def _read_job(path: str) -> tuple[InputColumns, list[FileSpec], dict[str, Any]]:
    """The job's inputs (as columns), its output and log file specs, and its trace fields, all checked.

    The description itself is not kept (it may list 50,000 files).
    """
    job = _load_job(path)
    try:
        inputs, outdata, logdata = job_parts(job)
    except BadJobDescription as exc:
        raise UsageError(f"{path}: {exc.message}. Fix the job description and try again.") from None
    return (
        inputs,
        outdata + logdata,
        job_fields(
            job_id=str(job.get("PandaID") or ""),
            task_id=str(job.get("taskID") or ""),
            user_dn=str(job.get("prodUserID") or ""),
            definition_id=str(job.get("jobDefinitionID") or ""),
        ),
    )


def _site_parts(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Queue, storages and catalog: given files first, else the embedded site (created if needed)."""
    site = init_site(args.site) if not (args.queue and args.storages) else None
    queue = load_queue(args.queue) if args.queue else site.queue  # type: ignore[union-attr]
    storages = load_storages(args.storages) if args.storages else site.storages  # type: ignore[union-attr]
    try:
        catalog: Any = LocalCatalog(args.catalog) if args.catalog else (site.catalog if site else None)
    except CopytoolsError as exc:
        raise UsageError(f"--catalog: {exc.message}. Give the path of an SQLite file that can be written.") from None
    if args.rucio_host:
        from .rucio_catalog import RucioCatalog

        catalog = RucioCatalog(args.rucio_host)
    return queue, storages, catalog


def _print_plan(console: Console, title: str, entries: list[PlanEntry]) -> None:
    rows = [[e.lfn, e.copytool, e.source, e.destination, e.reason] for e in entries]
    print_rows(console, f"plan: {title} (dry run, nothing changed)", ("file", "copytool", "from", "to", "why"), rows)


def _workdir(path: str, create: bool, required: bool) -> str:
    """The work directory as an absolute path; made when `create` and missing, refused when `required`."""
    workdir = os.path.abspath(path)
    if os.path.isdir(workdir):
        return workdir
    if os.path.lexists(workdir):
        raise UsageError(f"work directory {workdir} is not a directory. Choose another --workdir.")
    if required:
        raise UsageError(f"work directory {workdir} does not exist; stage-out reads the outputs from it.")
    if not create:
        return workdir
    try:
        os.makedirs(workdir, exist_ok=True)  # another run may make it at the same moment
    except OSError as exc:
        raise UsageError(f"cannot create work directory {workdir}: {exc.strerror}. Choose another --workdir.") from None
    return workdir


def _check_writable_file(option: str, path: str) -> None:
    """Refuse, before anything runs, an output file whose folder is missing or which is a directory."""
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise UsageError(f"{option} {target} is a directory; give the path of a file.")
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {target}: the folder {folder} does not exist. Create it or choose another path.")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {target}: the folder {folder} is not writable. Choose another path.")


def _transfer(args: argparse.Namespace, console: Console) -> int:
    stagein = args.command == "stage-in"
    if args.report:
        _check_writable_file("--report", args.report)
    if args.traces not in ("", "off") and not args.traces.startswith(("http://", "https://")):
        _check_writable_file("--traces", args.traces)
    inputs, outputs, job_trace = _read_job(args.job)
    if not (len(inputs) if stagein else outputs):
        raise UsageError(
            f"{args.job} lists no {'input' if stagein else 'output'} files ("
            f"{'inFiles' if stagein else 'outFiles'} is empty)."
        )
    queue, storages, catalog = _site_parts(args)
    known = set(queue.acopytools) | set(queue.astorages) | {"default"}
    if args.activity not in known:
        raise UsageError(
            f"unknown activity {args.activity!r}: the queue {queue.name} knows "
            f"{', '.join(sorted(known))}. Choose one with --activity."
        )
    if args.copytool:
        registry.load(args.copytool)
    workdir = _workdir(args.workdir, create=stagein and not args.dry_run, required=not stagein)
    size, count = (inputs.total_size(), len(inputs)) if stagein else (sum(f.filesize for f in outputs), len(outputs))
    view = ProgressView(console, size, count, not args.no_progress, args.quiet)
    client_class = StageInClient if stagein else StageOutClient
    if stagein:  # an input already there intact is not copied again; anything else is replaced
        options = engine_options(args, skip_identical=not args.force)
    else:  # a stored output is never replaced silently: the same bytes are done, other bytes are refused
        options = engine_options(args, skip_identical=True, overwrite=args.overwrite)
    client_parts: dict[str, Any] = {
        "acopytools": {args.activity: [args.copytool]} if args.copytool else None,
        "catalog": catalog,
        "trace_report": job_trace,
        "options": options,
        "on_event": view,
    }
    for name in client_class(queue, storages, **client_parts).copytools_for([args.activity, "default"]):
        registry.load(name)  # a copytool the queue names but nobody knows is bad input (exit 2)
    if args.dry_run:
        planner = plan_stage_in if stagein else plan_stage_out
        files = inputs.specs() if stagein else outputs
        plan = planner(client_class(queue, storages, **client_parts), files, args.activity, workdir)  # type: ignore[arg-type]
        _print_plan(console, args.command, plan)
        if args.report:
            write_report(args.report, {"command": args.command, "dry_run": True, "plan": [vars(e) for e in plan]})
        return EXIT_OK if all(e.ok for e in plan) else EXIT_TRANSFER_FAILED
    traces = sender_for(args.traces, spool=os.path.join(workdir, "unsent_traces.jsonl"))
    client = client_class(queue, storages, traces=traces, **client_parts)
    spool = SpooledReport(os.path.dirname(os.path.abspath(args.report)) if args.report else None)
    failures: list[str] = []
    started = time.monotonic()
    try:
        with stop_on_signals(options.interrupt) as interrupted, view.showing():
            if isinstance(client, StageInClient):
                batches = _input_batches(client, inputs, args.files_per_batch, workdir)
            else:
                batches = iter([outputs])
            for files in batches:  # a batch after an interrupt is only marked interrupted: nothing starts
                _transfer_batch(client, files, args.activity, workdir, args.rucio_host or "")
                failures += [_failure(e) for e in spool.add(files, client.outcomes) if e["status"] not in DONE_STATUSES]
                client.outcomes.clear()
        report = spool.report(args.command, args.activity, time.monotonic() - started)
        if args.report:
            try:
                write_report(args.report, report)
            except OSError as exc:
                raise UsageError(f"cannot write the report {args.report}: {exc.strerror or exc}") from None
        print_summary(console, report, args.quiet)
    finally:
        traces.close()
        spool.close()
    for line in failures:
        _say(line)
    if interrupted.signal:
        _say(f"interrupted by signal {interrupted.signal}: {len(failures)} file(s) not done")
        return interrupted.exit_status
    return EXIT_TRANSFER_FAILED if failures else EXIT_OK


def _input_batches(
    client: StageInClient, inputs: InputColumns, per_batch: int, workdir: str
) -> Iterator[list[FileSpec]]:
    """The inputs' file specs, `per_batch` at a time.

    A job whose inputs together do not fit (the queue's limit, the free space) is one batch: the client refuses
    it as a whole, before anything is copied. So is a job that does not give every input's size: the catalog
    gives the missing ones, and only a whole batch's sizes are checked.
    """
    try:
        client.check_space(len(inputs), inputs.total_size(), workdir)
    except CopytoolsError:
        per_batch = len(inputs)
    if 0 in inputs.sizes:
        per_batch = len(inputs)
    for start in range(0, len(inputs), per_batch):
        yield inputs.specs(start, start + per_batch)


def _transfer_batch(
    client: StageInClient | StageOutClient, files: list[FileSpec], activity: str, workdir: str, rucio_host: str
) -> None:
    """Transfer one batch of files; a failure is in the files' states (and logged), not raised."""
    try:
        if isinstance(client, StageInClient):
            client.transfer(files, activity, workdir=workdir, rucio_host=rucio_host)
        else:
            client.prepare_destinations(files, [activity])
            client.transfer_with_alternative(files, [activity], workdir=workdir, rucio_host=rucio_host)
    except CopytoolsError as exc:
        log.debug("transfer failed", exc_info=True)
        log.info("transfer failed: %s", exc)


def _failure(entry: dict[str, Any]) -> str:
    """The line that names a file not done, its copytool and its error."""
    return (
        f"FAILED {entry['lfn']} ({entry['copytool'] or 'no copytool'}): "
        f"error {entry['error_code']} ({entry['state']}): {entry['message']}"
    )


def _copy(args: argparse.Namespace, console: Console) -> int:
    destination_local = local_path(args.destination) is not None
    name = args.copytool
    if not name:
        far = args.source if destination_local else args.destination
        scheme = far.split("://", 1)[0] if "://" in far else "file"
        name = SCHEME_TOOLS.get(scheme)
        if name is None:
            raise UsageError(
                f"no copytool for URL scheme {scheme!r}; use --copytool to choose one "
                f"({', '.join(sorted(registry.known_names()))})."
            )
    tool = registry.load(name).configured(ToolSettings())
    available, why = tool.availability()
    if not available:
        raise UsageError(f"copytool {name!r} cannot run here: {why}")
    try:
        checksum = parse_checksum(args.checksum) if args.checksum else {}
    except CopytoolsError as exc:
        raise UsageError(f"--checksum {args.checksum!r}: {exc.message}. Use ad:<8 hex> or md5:<32 hex>.") from None
    destination = args.destination
    if destination_local and os.path.isdir(local_path(destination) or ""):
        destination = os.path.join(destination, os.path.basename(args.source.rstrip("/")))
    _refuse_copy_onto_itself(args.source, destination)
    if destination_local and args.parents:
        os.makedirs(os.path.dirname(os.path.abspath(local_path(destination) or "")), exist_ok=True)
    spec = FileSpec(lfn=os.path.basename(destination), checksum=checksum)
    direction = STAGE_IN if destination_local else STAGE_OUT
    engine = TransferEngine(tool, direction, engine_options(args, overwrite=args.force))
    (outcome,) = engine.run([Transfer(spec, [Route(args.source, destination)])])
    if spec.status != "transferred":
        _say(f"FAILED {spec.lfn} ({name}): error {spec.status_code} ({spec.status_state}): {spec.status_message}")
        return EXIT_TRANSFER_FAILED
    console.print(
        f"copied {outcome.bytes} bytes with {name} in {outcome.seconds:.3f} s to {destination}",
        highlight=False,
        markup=False,
    )
    return EXIT_OK


def _refuse_copy_onto_itself(source: str, destination: str) -> None:
    """A copy of a local file onto itself would truncate it: refuse it whatever the options."""
    src, dst = local_path(source), local_path(destination)
    if src is None or dst is None:
        return
    try:
        same = os.path.samefile(src, dst)
    except OSError:
        same = os.path.abspath(src) == os.path.abspath(dst)
    if same:
        raise UsageError(f"{source} and {destination} are the same file: nothing to copy.")


def _checksum(args: argparse.Namespace, console: Console) -> int:
    """`adler32 md5 path` lines, as md5sum prints them; errors on stderr."""
    status = EXIT_OK
    for path in args.files:
        try:
            line = f"{calculate_checksum(path, 'adler32')}  {calculate_checksum(path, 'md5')}  {path}"
        except CopytoolsError as exc:
            _say(f"copytools: error: {exc.message}")
            status = EXIT_BAD_INPUT
            continue
        plain(console, line)
    return status


def _tools(args: argparse.Namespace, console: Console) -> int:
    rows = [[name, target, "yes" if ok else "no", why] for name, target, ok, why in tool_availability(args.recheck)]
    print_rows(console, "copytools", ("copytool", "class", "available", "details"), rows)
    return EXIT_OK


def _site(args: argparse.Namespace, console: Console) -> int:
    site = init_site(args.directory)
    console.print(
        f"embedded site ready in {site.directory}: queue {site.queue.name}, storage "
        f"{', '.join(site.storages)} at {site.directory}/storage",
        highlight=False,
        markup=False,
    )
    return EXIT_OK


HANDLERS = {
    "stage-in": _transfer,
    "stage-out": _transfer,
    "copy": _copy,
    "checksum": _checksum,
    "tools": _tools,
    "site": _site,
}


def one_line(text: str) -> str:
    """A message as one line: line breaks become spaces, other control characters their escapes."""
    text = " ".join(text.splitlines())
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _say(line: str) -> None:
    """Write one line to stderr as it is: no markup, no wrapping."""
    sys.stderr.write(one_line(line) + "\n")
    sys.stderr.flush()


def _tolerant_output() -> None:
    """Names that are not valid UTF-8 (e.g. from a file system) are printed escaped instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _refuse_unusable(args: argparse.Namespace) -> None:
    """Refuse, by name, an argument no system call takes: a NUL byte, or text the file system cannot encode.

    (A command line itself cannot hold either; a caller of `main` can.)
    """
    for option, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str):
                continue
            name = option.replace("_", "-")
            if "\x00" in text:
                raise UsageError(f"argument {name} contains a NUL byte.")
            try:
                os.fsencode(text)
            except UnicodeError:
                raise UsageError(f"argument {name} is not text the file system can take: {shown(text)}.") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    _tolerant_output()
    args = build_parser().parse_args(argv)
    _configure_logging(args)
    console = Console(highlight=False)
    try:
        _refuse_unusable(args)
        return HANDLERS[args.command](args, console)
    except UsageError as exc:
        _say(f"copytools: error: {exc}")
        return EXIT_BAD_INPUT
    except CopytoolsError as exc:
        if args.debug:
            raise
        _say(f"copytools: error {exc.code} ({exc.state or 'ERROR'}): {exc.message}")
        return (
            EXIT_BAD_INPUT
            if exc.code in (ErrorCodes.UNKNOWNCOPYTOOL, ErrorCodes.BADQUEUECONFIGURATION)
            else EXIT_TRANSFER_FAILED
        )
    except KeyboardInterrupt:
        _say("copytools: interrupted")
        return 130


class _JsonLines(logging.Formatter):
    """One JSON object per log line: time, level, logger and message."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        return json.dumps(entry)


def _configure_logging(args: argparse.Namespace) -> None:
    """Logs go to stderr: warnings by default, each attempt with -v, everything with --debug."""
    handler = logging.StreamHandler(sys.stderr)
    json_lines = args.log_format == "json"
    handler.setFormatter(_JsonLines() if json_lines else logging.Formatter("%(levelname)s %(message)s"))
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, handlers=[handler], force=True)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
