"""``agent-memory import FILE.jsonl``: bulk-load long-term memories, in batches, with progress.

Each non-blank line is one JSON object in the shape ``POST /v1/long-term-memory/`` takes for
one memory (``{"text": ..., "id": ..., "namespace": ..., "topics": [...], ...}``; AMS's
defaults apply). The whole file is validated first, so nothing is written when a line is
bad (unless ``--skip-invalid``); then records go through the long-term service, exactly as
the API stores them (embedding, deduplication, tenant fields), ``--batch-size`` at a time.
Re-running an import is safe: a repeated id overwrites the stored memory.

The report counts a line as imported only when its own record is what is stored: the
long-term service answers, per record, the id it is stored under, so a line stored under
another id was skipped as a duplicate of that memory (``duplicate`` when the content hash
matches, ``near-duplicate`` otherwise); a line whose id comes again later in the file is
``repeated id`` (the later line replaces it); ``invalid`` lines are those ``--skip-invalid``
passed over.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from agent_memory.models.long_term import ExtractedMemoryRecord
from agent_memory.principal import LOCAL_ADMIN
from agent_memory.progress import Progress
from agent_memory.services.dedup import memory_hash
from agent_memory.settings import Settings

SKIP_KINDS = ("duplicate", "near-duplicate", "repeated id", "invalid")
SKIP_DETAILS_SHOWN = 50  # per-line reasons printed by the command; the counts cover all


class ImportFailed(Exception):
    """The file cannot be imported as it is (nothing was written)."""


@dataclass
class ImportReport:
    """What one import did."""

    read: int = 0
    stored: int = 0  # lines whose own record is stored
    skipped: list[str] = field(default_factory=list)  # "line N: reason"
    reasons: Counter[str] = field(default_factory=Counter)  # skipped lines by kind
    seconds: float = 0.0

    def skip(self, number: int, kind: str, detail: str) -> None:
        """Count line ``number`` as skipped for ``kind`` (invalid, duplicate, ...)."""
        self.skipped.append(f"line {number}: {detail}")
        self.reasons[kind] += 1

    def summary(self) -> str:
        """``"9 skipped: 8 duplicate, 1 invalid"`` (``"0 skipped"`` when none were)."""
        if not self.skipped:
            return "0 skipped"
        kinds = ", ".join(f"{self.reasons[kind]} {kind}" for kind in SKIP_KINDS
                          if self.reasons[kind])
        return f"{len(self.skipped)} skipped: {kinds}"


def parse_line(line: str, overrides: dict[str, str]) -> ExtractedMemoryRecord:
    """One JSONL line as a record; ``overrides`` (namespace, user_id) replace the line's."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("each line must be a JSON object")
    return ExtractedMemoryRecord.model_validate({**data, **overrides})


def read_records(path: Path, overrides: dict[str, str]) -> Iterator[
        tuple[int, ExtractedMemoryRecord | None, str | None]]:
    """``(line number, record or None, error or None)`` for every non-blank line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, parse_line(line, overrides), None
            except ValidationError as exc:  # before ValueError: it is one
                yield number, None, "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors())
            except ValueError as exc:  # not JSON, or not an object
                yield number, None, str(exc).splitlines()[0]


async def import_jsonl(settings: Settings, path: Path, *, batch_size: int = 500,
                       deduplicate: bool = True, skip_invalid: bool = False,
                       namespace: str | None = None, user_id: str | None = None,
                       stream: TextIO | None = None) -> ImportReport:
    """Import ``path`` into the long-term store of ``settings``' Redis; see the module docs.

    Raises:
        ImportFailed: a line is invalid (and ``skip_invalid`` is off), or long-term memory
            is disabled.
    """
    from agent_memory.services.container import build_services

    started = time.monotonic()
    overrides = {k: v for k, v in (("namespace", namespace), ("user_id", user_id)) if v}
    report = ImportReport()
    valid = 0
    last_line: dict[str, int] = {}  # explicit id -> the last line that carries it
    for number, record, error in read_records(path, overrides):
        report.read += 1
        if error is not None:
            if not skip_invalid:
                raise ImportFailed(f"{path}:{number}: {error} (nothing was imported)")
            report.skip(number, "invalid", error)
        elif record is not None:
            valid += 1
            if "id" in record.model_fields_set:
                last_line[record.id] = number
    services = await build_services(settings.model_copy(update={"use_docket": False}))
    try:
        long_term = getattr(services, "long_term", None)
        if long_term is None:
            raise ImportFailed("long-term memory is disabled (LONG_TERM_MEMORY=false)")
        batch: list[tuple[int, ExtractedMemoryRecord]] = []
        with Progress(valid, label="importing", stream=stream) as progress:
            for number, record, _ in read_records(path, overrides):
                if record is None:
                    continue
                batch.append((number, record))
                if len(batch) >= batch_size:
                    await _store(long_term, batch, deduplicate, last_line, report)
                    progress.update(len(batch))
                    batch = []
            if batch:
                await _store(long_term, batch, deduplicate, last_line, report)
                progress.update(len(batch))
    finally:
        await services.aclose()
    report.seconds = time.monotonic() - started
    return report


async def _store(long_term: Any, batch: list[tuple[int, ExtractedMemoryRecord]],
                 deduplicate: bool, last_line: dict[str, int], report: ImportReport) -> None:
    """Store one batch and account for every line of it in ``report``."""
    records = [record for _, record in batch]
    stored_as = await long_term.create(LOCAL_ADMIN, records, deduplicate)
    others = sorted({sid for record, sid in zip(records, stored_as, strict=True)
                     if sid != record.id})
    # Which kind of duplicate: the stored memory's content hash says (one read per batch).
    hashes = {found.id: found.memory_hash
              for found in await long_term.store.get_many(others) if found is not None} \
        if others else {}
    for (number, record), sid in zip(batch, stored_as, strict=True):
        if sid != record.id:
            if hashes.get(sid) == memory_hash(record):
                report.skip(number, "duplicate", f"duplicate of memory {sid} (same content)")
            else:
                report.skip(number, "near-duplicate", f"near-duplicate of memory {sid}")
        elif last_line.get(record.id, number) != number:
            report.skip(number, "repeated id", f"id {record.id!r} comes again on line "
                        f"{last_line[record.id]}, which replaces it")
        else:
            report.stored += 1


def register(sub: Any) -> None:
    """Add ``import`` to the top-level sub-parsers."""
    cmd = sub.add_parser(
        "import", help="bulk-import long-term memories from a JSONL file",
        description="Import long-term memories from a JSONL file: one JSON object per line, in "
        "the shape POST /v1/long-term-memory/ takes for one memory (text required; id, "
        "namespace, user_id, session_id, topics, entities, memory_type, event_date, ... "
        "optional). The file is validated first: nothing is written if a line is invalid. "
        "Records are embedded and deduplicated exactly as the API does.")
    cmd.add_argument("file", type=Path, help="the .jsonl file to import")
    cmd.add_argument("--batch-size", type=int, default=500,
                     help="records per embedding and write batch (default 500)")
    cmd.add_argument("--no-dedup", dest="deduplicate", action="store_false",
                     help="store every line as sent (default: deduplicate like the API)")
    cmd.add_argument("--skip-invalid", action="store_true",
                     help="import the valid lines and list the invalid ones, instead of "
                     "refusing the whole file")
    cmd.add_argument("--namespace", help="store every record in this namespace (overrides "
                     "the file's)")
    cmd.add_argument("--user-id", dest="user_id", help="store every record for this user "
                     "(overrides the file's)")
    cmd.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> None:
    from agent_memory.reembed import _live  # the configured or the embedded Redis

    if args.batch_size < 1:
        sys.exit("--batch-size must be at least 1")
    if not args.file.is_file():
        sys.exit(f"no such file: {args.file}")
    with _live(settings) as live:
        try:
            report = asyncio.run(import_jsonl(
                live, args.file, batch_size=args.batch_size, deduplicate=args.deduplicate,
                skip_invalid=args.skip_invalid, namespace=args.namespace, user_id=args.user_id))
        except ImportFailed as exc:
            sys.exit(f"agent-memory import: {exc}")
    for line in report.skipped[:SKIP_DETAILS_SHOWN]:
        print(f"skipped {line}", file=sys.stderr)
    if len(report.skipped) > SKIP_DETAILS_SHOWN:
        print(f"... and {len(report.skipped) - SKIP_DETAILS_SHOWN} more skipped lines",
              file=sys.stderr)
    hint = ("; --no-dedup keeps duplicates" if report.reasons["duplicate"]
            + report.reasons["near-duplicate"] else "")
    print(f"imported {report.stored} of {report.read} lines from {args.file} in "
          f"{report.seconds:.1f} s ({report.summary()}{hint})")
