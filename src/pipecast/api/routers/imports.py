"""Imports: upload an ASSETS .csv/.xlsx file, see a dry run (what would change, or the row at fault), then
commit it. The same reader as `pipecast import` (`pipecast.ingest.assets_file.load_assets`); one transaction.

The client's file name is never used as a path: the upload is written under a fresh temporary folder as
`upload.csv` or `upload.xlsx`, and the name is only echoed back (cleaned) in the summary.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel

from pipecast.api.auditing import audit_hook
from pipecast.api.deps import ReaderDep, StateDep, WriterDep
from pipecast.api.errors import ApiError
from pipecast.api.rowcheck import all_problems
from pipecast.api.schemas import ImportResult, RowError
from pipecast.api.security import not_owned
from pipecast.clock import today
from pipecast.errors import InputError
from pipecast.store import WriteResult
from pipecast.store.upserts import file_sha256 as sha256

router = APIRouter(prefix="/imports", tags=["imports"])
SUFFIXES = (".csv", ".xlsx", ".xlsm")
CHUNK = 1 << 16


def clean_name(name: str | None) -> str:
    """The last component of the client's file name, with anything but letters, digits, . _ - replaced."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^\w.\-]", "_", base)[:120].lstrip(".")
    return cleaned or "upload"


def _result(summary: WriteResult, name: str, errors: list[RowError]) -> ImportResult:
    return ImportResult(dry_run=summary.dry_run, file=name, rows=summary.rows, assets_added=summary.assets_added,
                        assets_updated=summary.assets_updated, events_added=summary.events_added,
                        events_known=summary.events_known, aliases_added=summary.aliases_added,
                        changes=list(summary.changes), warnings=list(summary.warnings), batch_id=summary.batch_id,
                        errors=errors)


def _row_error(error: InputError, path: Path, name: str) -> RowError:
    return RowError(code="invalid_row", message=str(error).replace(str(path), name), field=error.field or None,
                    file=error.file.replace(str(path), name), row=error.row, expected=error.expected)


class BatchPublic(BaseModel):
    id: int
    file: str
    sha256: str
    imported_at: dt.datetime
    kind: str
    rows: int
    assets_added: int
    assets_updated: int
    events_added: int
    facts_added: int


class BatchPage(BaseModel):
    items: list[BatchPublic]
    total: int
    limit: int
    offset: int


@router.get("", response_model=BatchPage, summary="Every import that changed the store, newest first")
def list_imports(
    state: StateDep, who: ReaderDep,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    sort: Literal["id", "-id"] = "-id",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> BatchPage:
    batches = [b for b in state.store.batches() if kind is None or b.kind == kind]
    batches.sort(key=lambda b: b.id, reverse=sort.startswith("-"))
    page = batches[offset: offset + limit]
    items = [BatchPublic(**{f: getattr(b, f) for f in BatchPublic.model_fields}) for b in page]
    return BatchPage(items=items, total=len(batches), limit=limit, offset=offset)


def _describe(done: WriteResult) -> tuple[int, dict[str, object], str]:
    return 200, {"batch_id": done.batch_id, "assets_added": done.assets_added, "assets_updated": done.assets_updated,
                 "events_added": done.events_added, "changes": done.changes[:200]}, ""


@router.post("", response_model=ImportResult, summary="Upload candidates: dry run (default) or commit")
def create_import(
    request: Request,
    state: StateDep,
    who: WriterDep,
    file: Annotated[UploadFile, File(description="An ASSETS .csv or .xlsx file")],
    dry_run: Annotated[bool, Form()] = True,
) -> ImportResult:
    from pipecast.ingest.assets_file import load_assets

    name = clean_name(file.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ApiError(415, "unsupported_media_type", f"unsupported file type {suffix or '(none)'!r}; expected "
                       ".csv or .xlsx", "file")
    folder = Path(tempfile.mkdtemp(prefix="pipecast-upload-"))
    try:
        path = folder / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, CHUNK)
        try:
            assets = load_assets(path, today=today())
        except InputError as exc:
            problems = all_problems(path, exc, today=today())
            if dry_run:
                return ImportResult(dry_run=True, file=name, rows=0, assets_added=0, assets_updated=0,
                                    events_added=0, events_known=0, aliases_added=0, changes=[], warnings=[],
                                    errors=[_row_error(e, path, name) for e in problems.listed],
                                    errors_total=problems.total, errors_more=problems.more)
            message = str(exc).replace(str(path), name)
            if problems.total > 1:
                message += f" (and {problems.total - 1} more problem(s): a dry run lists them)"
            raise ApiError(422, "invalid_row", message, exc.field or None) from None
        refused = not_owned(state, who, assets)
        if refused:
            raise ApiError(403, "forbidden", f"{who.name} may not write for {', '.join(refused[:5])}"
                           + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
                           + ": an editor writes only for its own organisation", "file")
        hook = None if dry_run else audit_hook(request, who, action="imports.post", resource=name,
                                               describe=_describe, source=f"upload {name} sha256 {sha256(path)}")
        summary = state.store.import_data(assets=assets, source_file=path, source_name=name, kind="assets",
                                          dry_run=dry_run, also=hook)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    request.state.audited = True  # in the import's transaction; a dry run writes nothing
    return _result(summary, name, [])
