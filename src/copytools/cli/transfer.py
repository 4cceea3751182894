"""`copytools stage-in` and `copytools stage-out`: a job's files, in batches, with a report."""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from rich.console import Console

from .. import registry
from ..catalog import LocalCatalog
from ..console import ProgressView, print_rows, print_summary
from ..errors import BadJobDescription, CopytoolsError
from ..filespec import DONE_STATUSES, FileSpec, InputColumns, job_parts
from ..interrupts import stop_on_signals
from ..localsite import init_site
from ..plan import PlanEntry, plan_stage_in, plan_stage_out
from ..report import SpooledReport, write_report
from ..site import load_queue, load_storages, read_json
from ..staging import StageInClient, StageOutClient
from ..trace import job_fields, sender_for
from .common import EXIT_OK, EXIT_TRANSFER_FAILED, UsageError, engine_options, say

FILES_PER_BATCH = 2000  # stage-in: the inputs whose file specs, outcomes and report entries are held at once

log = logging.getLogger("copytools")


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
        from ..rucio_catalog import RucioCatalog

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


def transfer(args: argparse.Namespace, console: Console) -> int:
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
        say(line)
    if interrupted.signal:
        say(f"interrupted by signal {interrupted.signal}: {len(failures)} file(s) not done")
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
