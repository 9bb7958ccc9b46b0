"""ClinicalTrials.gov API v2 JSON files: single studies, result pages and bulk zips (no network: files only).

Shapes (ClinicalTrials.gov Data API v2, https://clinicaltrials.gov/data-api/api, and the real records in
tests/data/registry/ctgov): `GET /api/v2/studies/{nctId}` returns one study object
`{"protocolSection": {...}, "derivedSection": ..., "hasResults": ...}`; `GET /api/v2/studies` returns a
page `{"studies": [...], "nextPageToken": "...", "totalCount": n}` (pageSize up to 1000, the next page
is asked for with `pageToken`); the bulk download is a zip of JSON files, one study each.
Dates are "YYYY-MM-DD" or "YYYY-MM" (a partial date); a month-only date is read as the 1st.
Phases are EARLY_PHASE1, PHASE1..PHASE4 or NA; a Phase 2/3 study lists both and counts as Phase 3.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipecast.domain import Phase, Source, parse_phase
from pipecast.errors import InputError, UnknownPhaseError
from pipecast.ingest.trials import TrialRecord
from pipecast.tabular import modified_date

STUDY_URL = "https://clinicaltrials.gov/study/"
# Intervention types that are not a candidate drug (v2 InterventionType enum).
_NOT_DRUGS = {
    "DEVICE",
    "PROCEDURE",
    "BEHAVIORAL",
    "RADIATION",
    "DIAGNOSTIC_TEST",
    "DIETARY_SUPPLEMENT",
    "OTHER",
}
_PLACEBO_WORDS = ("placebo", "saline", "安慰剂")


def _date(value: Any) -> dt.date | None:
    """A v2 date struct ({"date": "2020-02"}) or string; partial month dates become the 1st."""
    text = value.get("date") if isinstance(value, Mapping) else value
    if not text or not isinstance(text, str):
        return None
    parts = text.strip()[:10].split("-")
    try:
        year, month = int(parts[0]), int(parts[1]) if len(parts) > 1 else 1
        return dt.date(year, month, int(parts[2]) if len(parts) > 2 else 1)
    except (ValueError, IndexError):
        return None


def _phase(phases: list[str]) -> Phase | None:
    """The latest of the listed phases; NA and unknown spellings give None."""
    found = []
    for text in phases:
        try:
            found.append(parse_phase(text))
        except UnknownPhaseError:
            continue
    return max(found, key=lambda p: p.order) if found else None


def _unique(values: Iterator[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v).strip() for v in values if v and str(v).strip()))


def parse_study(study: Mapping[str, Any], *, file: str = "", retrieved: dt.date | None = None) -> TrialRecord:
    """One v2 study object as a TrialRecord; needs protocolSection.identificationModule.nctId."""
    protocol = study.get("protocolSection")
    if not isinstance(protocol, Mapping):
        raise InputError(
            "not a ClinicalTrials.gov v2 study (no protocolSection)",
            file=file,
            expected='a study object or a page {"studies": [...]}',
        )
    ident = protocol.get("identificationModule") or {}
    nct = ident.get("nctId")
    if not nct:
        raise InputError("study without identificationModule.nctId", file=file)
    status = protocol.get("statusModule") or {}
    design = protocol.get("designModule") or {}
    arms = protocol.get("armsInterventionsModule") or {}
    sites = (protocol.get("contactsLocationsModule") or {}).get("locations") or []
    drugs = [
        i
        for i in arms.get("interventions") or []
        if i.get("type") not in _NOT_DRUGS
        and not any(w in str(i.get("name", "")).lower() for w in _PLACEBO_WORDS)
    ]
    phases = design.get("phases") or []
    return TrialRecord(
        registry="ctgov",
        trial_id=str(nct),
        title=str(ident.get("briefTitle") or ident.get("officialTitle") or ""),
        drug_names=_unique(i.get("name") for i in drugs),
        sponsor=str(
            ((protocol.get("sponsorCollaboratorsModule") or {}).get("leadSponsor") or {}).get("name", "")
        ),
        phase=_phase(phases),
        start_date=_date(status.get("startDateStruct")),
        first_posted=_date(status.get("studyFirstPostDateStruct"))
        or _date(status.get("studyFirstSubmitDate")),
        status=str(status.get("overallStatus") or ""),
        conditions=_unique(iter((protocol.get("conditionsModule") or {}).get("conditions") or [])),
        countries=_unique(s.get("country") for s in sites),
        cities=_unique(s.get("city") for s in sites),
        last_update=_date(status.get("lastUpdatePostDateStruct")),
        source=Source(
            f"ClinicalTrials.gov {nct}" + (f" ({file})" if file else ""), STUDY_URL + str(nct), retrieved
        ),
        phase_text="/".join(phases),
        states=_unique(s.get("state") for s in sites),
        other_names=_unique(n for i in drugs for n in i.get("otherNames") or []),
    )


def _studies(payload: Any, file: str) -> list[Mapping[str, Any]]:
    if isinstance(payload, Mapping) and "studies" in payload:
        studies = payload["studies"]
    elif isinstance(payload, Mapping):
        studies = [payload]
    elif isinstance(payload, list):
        studies = payload
    else:
        studies = None
    if not isinstance(studies, list) or not all(isinstance(s, Mapping) for s in studies):
        raise InputError(
            "not ClinicalTrials.gov v2 JSON",
            file=file,
            expected='a study object, a list of them, or a page {"studies": [...]}',
        )
    return studies


def _load(data: bytes, file: str) -> Any:
    if not data.strip():
        raise InputError("file is empty", file=file, expected="ClinicalTrials.gov v2 JSON")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", file=file, expected="UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})",
            file=file,
            row=exc.lineno,
            expected="complete ClinicalTrials.gov v2 JSON",
        ) from None


def _retrieved(path: Path, retrieved: dt.date | None) -> dt.date:
    return retrieved or modified_date(path)


def parse_payload(payload: Any, *, file: str = "", retrieved: dt.date | None = None) -> list[TrialRecord]:
    """Records from an already-decoded study, list of studies, or page."""
    return [parse_study(s, file=file, retrieved=retrieved) for s in _studies(payload, file)]


def iter_zip(path: str | Path, *, retrieved: dt.date | None = None) -> Iterator[TrialRecord]:
    """Studies from a bulk zip, one member at a time, so memory holds one study, not the archive."""
    path = Path(path)
    when = _retrieved(path, retrieved)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"cannot open as zip: {exc}", file=str(path)) from None
    with archive:
        for member in archive.infolist():
            if member.is_dir() or not member.filename.lower().endswith(".json"):
                continue
            name = f"{path}!{member.filename}"
            with archive.open(member) as handle:
                payload = _load(handle.read(), name)
            yield from parse_payload(payload, file=name, retrieved=when)


def read_ctgov(path: str | Path, *, retrieved: dt.date | None = None) -> list[TrialRecord]:
    """All studies in a v2 JSON file (study, list or page) or a bulk zip of such files."""
    return list(iter_ctgov(path, retrieved=retrieved))


def iter_ctgov(path: str | Path, *, retrieved: dt.date | None = None) -> Iterator[TrialRecord]:
    """`read_ctgov` as a stream: a bulk zip is read one member at a time; a JSON file is decoded whole."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    if path.suffix.lower() == ".zip":
        return iter_zip(path, retrieved=retrieved)
    return iter(parse_payload(
        _load(path.read_bytes(), str(path)), file=str(path), retrieved=_retrieved(path, retrieved)
    ))
