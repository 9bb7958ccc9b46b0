"""The import page's work: an uploaded ASSETS file (CSV or XLSX) read and checked in full, then a dry run or a
commit in one transaction, recorded in the audit log. A dry run keeps the upload (in memory, for its user, a
short while) so that the commit writes exactly the file that was checked.

The upload's name is cut to its last part and only `.csv`/`.xlsx` are accepted, so a name such as
`../../etc/passwd.csv` can neither choose where a file is written nor reach the page as a path.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request

from pipecast import clock
from pipecast.api.auditing import record_write
from pipecast.api.deps import AppState
from pipecast.api.rowcheck import Problems, all_problems
from pipecast.api.security import Principal, not_owned
from pipecast.errors import FileProblemsError, InputError, PipecastError
from pipecast.store import ImportSummary

SUFFIXES = (".csv", ".xlsx")
#: How long a dry-run upload waits for its commit, and how many wait at once (oldest dropped first).
STAGED_SECONDS = 3600
STAGED_MAX = 20
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class StagedUpload:
    name: str
    content: bytes
    user: str
    at: float


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """Why a file cannot be imported, located: file, row, column, what is wrong, what was expected."""

    file: str
    row: int | None
    field: str
    message: str
    expected: str


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What an import did, or why it could not: `problems` lists every bad row (up to a cap; `problem` is the
    first), `problems_total` counts them all."""

    summary: ImportSummary | None
    problem: ImportProblem | None
    problems: tuple[ImportProblem, ...] = ()
    problems_total: int = 0


def safe_name(name: str) -> str:
    """The upload's base name with path parts, control characters and odd punctuation removed."""
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")
    return base[:120] or "upload"


def _staged(state: AppState) -> dict[str, StagedUpload]:
    found = state.extra.get("web_staged_imports")
    if not isinstance(found, dict):
        found = {}
        state.extra["web_staged_imports"] = found
    return found


def stage_upload(state: AppState, token: str, upload: StagedUpload) -> None:
    with _LOCK:
        staged = _staged(state)
        now = time.monotonic()
        for key in [k for k, v in staged.items() if now - v.at > STAGED_SECONDS]:
            del staged[key]
        staged[token] = upload
        while len(staged) > STAGED_MAX:
            staged.pop(next(iter(staged)))


def take_staged(state: AppState, token: str, user: str) -> StagedUpload | None:
    """The upload a dry run kept under `token`, for the same user only; it can be committed once."""
    with _LOCK:
        staged = _staged(state)
        upload = staged.get(token)
        if upload is None or upload.user != user or time.monotonic() - upload.at > STAGED_SECONDS:
            return None
        del staged[token]
        return upload


def _problem(exc: PipecastError, name: str) -> ImportProblem:
    if isinstance(exc, InputError):
        return ImportProblem(name, exc.row, exc.field, exc.message, exc.expected)
    return ImportProblem(name, None, "", str(exc), "")


def import_upload(request: Request, state: AppState, who: Principal, upload: StagedUpload, *,
                  dry_run: bool) -> ImportOutcome:
    """Read and check the whole file, then dry-run or commit it; the attempt is in the audit log either way."""
    name = safe_name(upload.name)
    action = "imports.dry_run" if dry_run else "imports.post"
    try:
        summary = _import(state, who, upload, name, dry_run=dry_run)
    except PipecastError as exc:
        problem = _problem(exc, name)
        listed: tuple[ImportProblem, ...] = (problem,)
        total = 1
        if isinstance(exc, FileProblemsError):
            found = exc.problems
            assert isinstance(found, Problems)
            listed = tuple(_problem(e, name) for e in found.listed)
            total = found.total
        record_write(request, state, who, action=action, resource=name, status=422, outcome="refused",
                     changes={"row": problem.row, "field": problem.field, "problems": total},
                     source=f"upload {name}", message=problem.message)
        return ImportOutcome(None, problem, listed, total)
    if dry_run:
        request.state.audited = True  # a dry run writes nothing
        return ImportOutcome(summary, None)
    changes: dict[str, Any] = {"batch_id": summary.batch_id, "assets_added": summary.assets_added,
                               "assets_updated": summary.assets_updated, "events_added": summary.events_added,
                               "changes": summary.changes[:200]}
    record_write(request, state, who, action=action, resource=name, status=200, changes=changes,
                 source=f"upload {name} sha256 {summary.sha256}")
    return ImportOutcome(summary, None)


def _import(state: AppState, who: Principal, upload: StagedUpload, name: str, *, dry_run: bool) -> ImportSummary:
    from pipecast.ingest.assets_file import load_assets

    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"unsupported file type {suffix or '(none)'!r}", file=name, expected="a .csv or .xlsx file")
    if len(upload.content) > state.settings.max_upload_bytes:
        raise InputError(f"file over the limit of {state.settings.max_upload_bytes} bytes", file=name)
    with tempfile.TemporaryDirectory(prefix="pipecast-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(upload.content)
        today = clock.today()
        try:
            assets = load_assets(path, today=today)
        except InputError as exc:
            raise FileProblemsError(exc, all_problems(path, exc, today=today)) from None
        refused = not_owned(state, who, assets)
        if refused:
            shown = ", ".join(refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
            raise InputError(f"{who.name} may not write for {shown}: an editor writes only for its own "
                             "organisation's candidates", file=name, field="id")
        summary = state.store.import_data(assets=assets, source_file=path, source_name=name, kind="assets",
                                          dry_run=dry_run)
    summary.file = f"upload:{name}"
    return summary


def summary_text(summary: ImportSummary, t: dict[str, str]) -> str:
    """What the import did (or, for a dry run, would do), in the page's language."""
    if not summary.changed:
        return t["import_nothing"]
    text = t["import_counts"].format(file=summary.file.removeprefix("upload:"), added=summary.assets_added,
                                     updated=summary.assets_updated, events=summary.events_added,
                                     known=summary.events_known, aliases=summary.aliases_added)
    return t["import_preview" if summary.dry_run else "import_done"].format(summary=text)
