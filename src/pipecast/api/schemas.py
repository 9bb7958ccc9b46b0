"""Pydantic schemas: one per use of an entity (`...Create` for input, `...Public` for output, `...Page` for a
list). Inputs forbid unknown fields, so a misspelt field is a 422 rather than silently ignored."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TEXT = 2000
SHORT = 200


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: ErrorDetail


class SourcePublic(BaseModel):
    title: str
    url: str = ""
    date: dt.date | None = None


class EventPublic(BaseModel):
    phase: str
    date: dt.date
    indication: str = ""
    recorded: dt.date | None = None
    source: SourcePublic | None = None


class CandidatePublic(BaseModel):
    id: str
    name: str
    aliases: list[str]
    sponsor: str
    phase: str
    phase_start: dt.date
    modality: str = ""
    therapeutic_area: str = ""
    count: int = 1


class CandidatePage(BaseModel):
    items: list[CandidatePublic]
    total: int
    limit: int
    offset: int


class CandidateDetail(CandidatePublic):
    indication: str = ""
    target: str = ""
    nmpa_class: str = ""
    jurisdiction: str = ""
    note: str = ""
    approval_date: dt.date | None = None
    as_of: dt.date | None = None
    events: list[EventPublic]


class EventCreate(Strict):
    """A new phase event: history is appended to, never edited. A source is required."""

    phase: str = Field(min_length=1, max_length=50, examples=["phase3"])
    date: dt.date
    source_url: str = Field(default="", max_length=TEXT)
    source_title: str = Field(default="", max_length=TEXT)
    source_date: dt.date | None = None
    indication: str = Field(default="", max_length=TEXT)


class EventCreated(BaseModel):
    candidate_id: str
    added: bool
    event: EventPublic
    batch_id: int | None = None


class ForecastCreate(Strict):
    """The options of `pipecast forecast`; the result is the JSON of `pipecast forecast --json`."""

    as_of: dt.date | None = None
    years: str | None = Field(default=None, max_length=20, pattern=r"^\d{4}(\s*-\s*\d{4})?$",
                              examples=["2025-2031"])
    target: str | None = Field(default=None, max_length=60, pattern=r"^[0-9][0-9:,\- ]*$",
                               examples=["2027-2030:1-3"])
    rates: str | None = Field(default=None, max_length=40, examples=["china"])
    method: Literal["exact", "montecarlo"] | None = None
    paths: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    engine: Literal["numpy", "dask", "jax"] | None = None
    rho: list[str] | None = Field(default=None, max_length=20)
    review_sigma: float | None = Field(default=None, ge=0, le=5)
    sponsor_stop: float | None = Field(default=None, ge=0, le=1)
    background: bool = Field(default=False, description="Run as a job (202 and a job URL) whatever its size.")


class JobPublic(BaseModel):
    id: str
    url: str
    status: Literal["queued", "running", "done", "failed"]
    progress: int = Field(description="Work units done so far (candidates for the exact method).")
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    result: dict[str, Any] | None = None
    error: ErrorDetail | None = None


class OrganisationPublic(BaseModel):
    id: str
    name: str
    kind: str
    city: str
    parent_id: str
    aliases: list[str]
    candidates: list[str]


class OrganisationPage(BaseModel):
    items: list[OrganisationPublic]
    total: int
    limit: int
    offset: int


class OrganisationCreate(Strict):
    id: str = Field(min_length=1, max_length=SHORT, pattern=r"^[^\s/\\]+$")
    name: str = Field(min_length=1, max_length=500)
    kind: Literal["company", "institute", "park", "cluster"] = "company"
    city: str = Field(default="", max_length=SHORT)
    parent_id: str = Field(default="", max_length=SHORT)
    aliases: list[str] = Field(default_factory=list, max_length=50)


class FactPublic(BaseModel):
    entity: str
    field: str
    value: str
    unit: str
    as_of: dt.date | None
    as_of_text: str
    note: str
    source: SourcePublic | None


class FactPage(BaseModel):
    items: list[FactPublic]
    total: int
    limit: int
    offset: int


class FactCreate(Strict):
    """A deal, a funding round or another dated figure about an organisation (appended, never edited)."""

    entity: str = Field(min_length=1, max_length=500)
    field: str = Field(min_length=1, max_length=SHORT, examples=["funding", "deal"])
    value: str = Field(min_length=1, max_length=TEXT)
    unit: str = Field(default="", max_length=50)
    as_of: dt.date
    note: str = Field(default="", max_length=TEXT)
    source_url: str = Field(default="", max_length=TEXT)
    source_title: str = Field(default="", max_length=TEXT)


class ImportResult(BaseModel):
    dry_run: bool
    file: str
    rows: int
    assets_added: int
    assets_updated: int
    events_added: int
    events_known: int
    aliases_added: int
    changes: list[str]
    warnings: list[str]
    batch_id: int | None = None
    errors: list[RowError] = Field(default_factory=list,
                                   description="A dry run's problems, every bad row (at most 100 listed)")
    errors_total: int = Field(default=0, description="How many problems in all")
    errors_more: int = Field(default=0, description="Problems not listed (\"and N more\")")


class RowError(ErrorDetail):
    """One problem of an uploaded file, located: file, row (1 is the header), column (`field`), expected."""

    file: str = ""
    row: int | None = None
    expected: str = ""


class AuditPublic(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    role: str
    org_id: str
    action: str
    method: str
    path: str
    resource: str
    outcome: str
    status: int
    client: str
    source: str
    changes: dict[str, Any]
    message: str


class AuditPage(BaseModel):
    items: list[AuditPublic]
    total: int
    limit: int
    offset: int


class UserCreate(Strict):
    name: str = Field(min_length=1, max_length=SHORT)
    role: Literal["viewer", "editor", "admin"]
    org_id: str = Field(default="", max_length=SHORT)
    password: str = Field(default="", max_length=1000)


class UserPublic(BaseModel):
    name: str
    role: str
    org_id: str
    active: bool
    created_at: dt.datetime


class UserPage(BaseModel):
    items: list[UserPublic]
    total: int
    limit: int
    offset: int


class TokenCreate(Strict):
    label: str = Field(default="", max_length=SHORT)


class TokenPublic(BaseModel):
    token: str = Field(description="Shown once: only its hash is stored.")
    user: str
    id: int | None = Field(default=None, description="The token's id, to revoke it alone.")


class TokenInfoPublic(BaseModel):
    """A token as listed: never its secret."""

    id: int
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    live: bool


class TokenInfoPage(BaseModel):
    user: str
    items: list[TokenInfoPublic]
    total: int


class RevokedPublic(BaseModel):
    user: str
    tokens_revoked: int


class LoginCreate(Strict):
    username: str = Field(min_length=1, max_length=SHORT)
    password: str = Field(min_length=1, max_length=1000)


class MePublic(BaseModel):
    name: str
    role: str
    org_id: str
    via: str
    csrf_token: str = ""


class HealthPublic(BaseModel):
    status: Literal["ok"]
    version: str
    schema_version: str | None
    candidates: int
