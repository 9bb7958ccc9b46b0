"""ClinicalTrials.gov v2 importer, checked against the raw JSON read independently."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipecast.domain import Phase
from pipecast.errors import InputError
from pipecast.ingest.ctgov import iter_zip, parse_study, read_ctgov

CTGOV = Path(__file__).parent / "data" / "registry" / "ctgov"
PAGE1 = CTGOV / "biomcp_search_phelan_limit5_20260811.json"
PAGE2 = CTGOV / "biomcp_search_phelan_next_20260811.json"
SINGLES = [
    "NCT03418623.json",
    "NCT00973089.json",
    "biomcp_get_nct06382129_20260811.json",
    "biomcp_get_nct02576665_20260811.json",
]


def raw(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_single_study_fields_match_the_raw_record() -> None:
    path = CTGOV / "NCT03418623.json"
    study = raw(path)["protocolSection"]
    [record] = read_ctgov(path, retrieved=dt.date(2024, 10, 13))
    assert record.registry == "ctgov"
    assert record.trial_id == study["identificationModule"]["nctId"] == "NCT03418623"
    assert record.title == study["identificationModule"]["briefTitle"]
    assert record.sponsor == study["sponsorCollaboratorsModule"]["leadSponsor"]["name"]
    assert record.status == study["statusModule"]["overallStatus"]
    assert record.start_date == dt.date.fromisoformat(study["statusModule"]["startDateStruct"]["date"])
    assert record.first_posted == dt.date.fromisoformat(
        study["statusModule"]["studyFirstPostDateStruct"]["date"]
    )
    assert record.last_update == dt.date.fromisoformat(
        study["statusModule"]["lastUpdatePostDateStruct"]["date"]
    )
    assert record.conditions == tuple(study["conditionsModule"]["conditions"])
    assert record.phase is Phase.PHASE2
    assert record.phase_text == "PHASE2"
    drugs = [i["name"] for i in study["armsInterventionsModule"]["interventions"] if i["type"] == "DRUG"]
    assert record.drug_names == tuple(drugs) == ("GET73",)  # the placebo arm (type OTHER) is not a drug
    locations = study["contactsLocationsModule"]["locations"]
    assert record.cities == tuple(dict.fromkeys(loc["city"] for loc in locations))
    assert record.countries == ("United States",)
    assert record.source is not None
    assert record.source.url == "https://clinicaltrials.gov/study/NCT03418623"
    assert record.source.date == dt.date(2024, 10, 13)
    assert "NCT03418623.json" in record.source.title


def test_every_sample_reads_and_ids_match() -> None:
    for name in SINGLES:
        [record] = read_ctgov(CTGOV / name)
        assert record.trial_id == raw(CTGOV / name)["protocolSection"]["identificationModule"]["nctId"]


def test_withdrawn_study_without_phase() -> None:
    [record] = read_ctgov(CTGOV / "NCT00973089.json")
    assert record.status == "WITHDRAWN"
    assert record.stopped
    assert record.phase is None
    assert record.phase_text == "NA"
    assert record.start_date == dt.date(2010, 5, 1)  # partial date "2010-05" read as the 1st


def test_other_names_and_partial_modules() -> None:
    [record] = read_ctgov(CTGOV / "biomcp_get_nct06382129_20260811.json")
    assert record.sponsor == "Sichuan Baili Pharmaceutical Co., Ltd."
    assert record.phase is Phase.PHASE3
    assert record.drug_names == ("BL-B01D1", "Docetaxel")
    assert record.other_names == ("iza-bren", "izalontamab brengitecan", "BMS-986507")
    assert record.first_posted is None
    assert record.cities == ()


def test_page_combined_phases_and_placebo() -> None:
    page = raw(PAGE1)
    records = read_ctgov(PAGE1)
    assert [r.trial_id for r in records] == [
        s["protocolSection"]["identificationModule"]["nctId"] for s in page["studies"]
    ]
    by_id = {r.trial_id: r for r in records}
    assert by_id["NCT05105685"].phase is Phase.PHASE2  # ["PHASE1", "PHASE2"] counts as the later
    assert by_id["NCT05105685"].phase_text == "PHASE1/PHASE2"
    assert by_id["NCT02710084"].drug_names == ("Oxytocin",)  # "Saline" is the control
    assert by_id["NCT01525901"].start_date == dt.date(2012, 2, 1)
    assert by_id["NCT07119606"].phase is None  # NA


def test_truncated_json_names_file_and_position(tmp_path: Path) -> None:
    text = (CTGOV / "NCT03418623.json").read_text(encoding="utf-8")
    broken = tmp_path / "cut.json"
    broken.write_text(text[:1500], encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_ctgov(broken)
    message = str(info.value)
    assert str(broken) in message
    assert "invalid JSON" in message
    assert "line" in message
    assert "column" in message
    assert info.value.row == text[:1500].count("\n") + 1  # the line where the text stops


def test_empty_and_wrong_shapes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"  \n")
    with pytest.raises(InputError, match="empty"):
        read_ctgov(empty)
    other = tmp_path / "other.json"
    other.write_text('{"results": [1, 2]}', encoding="utf-8")
    with pytest.raises(InputError, match="protocolSection"):
        read_ctgov(other)
    no_id = tmp_path / "noid.json"
    no_id.write_text('{"protocolSection": {"identificationModule": {}}}', encoding="utf-8")
    with pytest.raises(InputError, match="nctId"):
        read_ctgov(no_id)
    with pytest.raises(InputError, match="not found"):
        read_ctgov(tmp_path / "missing.json")
    with pytest.raises(InputError):
        parse_study({"studies": "x"})


def test_bulk_zip_is_streamed_member_by_member(tmp_path: Path) -> None:
    archive = tmp_path / "ctg-studies.json.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in SINGLES[:2]:
            zf.write(CTGOV / name, f"ctg-studies/{name}")
        zf.write(PAGE2, "pages/page2.json")
        zf.writestr("README.txt", "not json")
        zf.writestr("zz_broken.json", '{"protocolSection": {')
    stream = iter_zip(archive, retrieved=dt.date(2026, 8, 11))
    first = next(stream)  # read before the broken member is ever opened
    assert first.trial_id == "NCT03418623"
    got = [first.trial_id]
    with pytest.raises(InputError) as info:
        got.extend(record.trial_id for record in stream)
    assert got == ["NCT03418623", "NCT00973089"] + [
        s["protocolSection"]["identificationModule"]["nctId"] for s in raw(PAGE2)["studies"]
    ]
    assert "zz_broken.json" in str(info.value)
    assert "line 1" in str(info.value)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputError, match="zip"):
        read_ctgov(bad)


def test_recorded_pagination_pair_parses_every_study() -> None:
    """The two recorded API pages (a search and its next page) read as files: every study, in order."""
    records = [r for page in (PAGE1, PAGE2) for r in read_ctgov(page)]
    expected = [
        s["protocolSection"]["identificationModule"]["nctId"]
        for p in (PAGE1, PAGE2)
        for s in raw(p)["studies"]
    ]
    assert [r.trial_id for r in records] == expected
    assert len(records) == 10
    assert raw(PAGE1)["nextPageToken"]  # the recording really is a page with a next page


def test_no_network_fetcher_remains() -> None:
    import pipecast.ingest.ctgov as ctgov

    assert not hasattr(ctgov, "fetch")
