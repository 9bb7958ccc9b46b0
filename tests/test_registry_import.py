"""Registry imports on real sample files (tests/data/registry, shared 2013-2018 CTR scrape)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from cli_app import invoke
from pipecast.errors import InputError
from pipecast.ingest.assets_file import load_dataset
from pipecast.ingest.registry_import import import_registry
from pipecast.ingest.summary import ImportSummary
from pipecast.store import Store
from shared_paths import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
REG = Path(__file__).parent / "data" / "registry"
CTR = REG / "ctr" / "trial_info_sample.csv"
SITES = REG / "ctr" / "trial_site_info_sample.csv"
BIG = SHARED_DATA / "china_ctr_registry_2013_2018" / "chinadrugtrials_ctr_2013_2018.csv"
CHONGQING = ROOT / "src" / "pipecast" / "data" / "chongqing"
TODAY = dt.date(2026, 1, 1)
RETRIEVED = dt.date(2025, 6, 1)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with Store.open(sqlite_url) as opened:
        yield opened


def _import(store: Store, path: Path = CTR, **kw: Any) -> ImportSummary:
    kw.setdefault("sites", SITES if path == CTR else None)
    kw.setdefault("region", None)
    return import_registry(store, "ctr", path, today=TODAY, retrieved=RETRIEVED, **kw)


def test_china_export_creates_candidates_with_histories(store: Store) -> None:
    summary = _import(store)
    assert summary.records_read == 16
    assert summary.candidates_created >= 5
    assert summary.events_added >= summary.candidates_created
    shr = store.asset("ctr:shra1811")
    assert [e.phase.value for e in shr.history] == ["phase1", "phase2"]
    assert shr.history[-1].date == dt.date(2023, 2, 15)
    src = shr.history[-1].source
    assert src is not None
    assert "CTR20230432" in src.title
    assert CTR.name in src.title
    assert src.date == RETRIEVED
    assert "unresolved" in shr.note
    # bioequivalence / phase-less generics give no candidate
    assert all("格列齐特" not in a.name for a in store.assets())


def test_reimport_is_a_noop(store: Store) -> None:
    first = _import(store)
    counts = store.table_counts()
    again = _import(store)
    assert first.events_added > 0
    assert again.events_added == 0
    assert again.candidates_created == 0
    assert again.candidates_updated == 0
    assert store.table_counts() == counts


def test_dry_run_writes_nothing(store: Store) -> None:
    before = store.table_counts()
    summary = _import(store, dry_run=True)
    assert summary.dry_run
    assert summary.events_added > 0
    assert store.table_counts() == before


def test_gbk_copy_imports_the_same(store: Store, tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(CTR.read_text(encoding="utf-8").encode("gb18030"))
    summary = import_registry(store, "ctr", gbk, region=None, today=TODAY, retrieved=RETRIEVED, dry_run=True)
    assert summary.records_read == 16
    assert summary.candidates_created >= 5


def test_bad_row_is_a_listed_warning(store: Store, tmp_path: Path) -> None:
    rows = list(csv.reader(CTR.open(encoding="utf-8")))
    header = rows[0]
    bad = tmp_path / "bad.csv"
    rows[2][header.index("phase")] = "phase banana"
    rows[2][header.index("standard_phase")] = ""
    rows[3][header.index("publication_date")] = "2023/13/45"
    with bad.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    summary = import_registry(store, "ctr", bad, region=None, today=TODAY, retrieved=RETRIEVED)
    fields = {(w.file, w.row, w.field) for w in summary.warnings}
    assert (str(bad), 3, "phase") in fields or (str(bad), 3, "standard_phase") in fields
    assert (str(bad), 4, "publication_date") in fields
    assert summary.candidates_created > 0


def test_fatal_error_leaves_store_unchanged(store: Store, tmp_path: Path) -> None:
    _import(store)
    before = store.table_counts()
    broken = tmp_path / "no_id.csv"
    broken.write_text("drug_name_x,phase\nfoo,I期\n", encoding="utf-8")
    with pytest.raises(InputError):
        import_registry(store, "ctr", broken, region=None, today=TODAY)
    assert store.table_counts() == before


def test_gr1501_resolves_to_bundled_candidate(store: Store) -> None:
    store.import_data(assets=load_dataset(CHONGQING, today=dt.date(2030, 1, 1)), source_file=CHONGQING)
    before = store.asset("genrix-gr1501")
    summary = _import(store)
    assert summary.resolved.get("GR1501注射液") == "genrix-gr1501"
    ids = {a.id for a in store.assets()}
    assert not any("gr1501" in i for i in ids if i != "genrix-gr1501")
    # a later Phase 2 trial (new indication) does not move the approved drug backwards: a warning
    assert store.asset("genrix-gr1501").phase == before.phase
    assert any("genrix-gr1501" in w.message and w.row == 17 for w in summary.warnings)


def test_region_filter_keeps_chongqing_trials(store: Store) -> None:
    summary = _import(store, region="重庆", dry_run=True)
    assert summary.records_in_region == 5  # GR1501 (sponsor) + 4 trials with a site in 重庆市
    assert summary.records_read == 16


def test_shared_2013_2018_slice(store: Store, tmp_path: Path) -> None:
    if not BIG.exists():
        pytest.skip("shared 2013-2018 CTR scrape not present")
    part = tmp_path / "slice.csv"
    with BIG.open(encoding="utf-8-sig") as src:
        part.write_text("".join(islice(src, 301)), encoding="utf-8")
    summary = import_registry(store, "ctr", part, region=None, today=TODAY, retrieved=RETRIEVED)
    assert summary.records_read == 300
    # this scrape has no dates: phased trials are listed warnings, nothing is invented
    assert summary.events_added == 0
    dated = [w for w in summary.warnings if w.field == "date"]
    assert dated
    assert all(w.file == str(part) and w.row is not None for w in dated)


def test_ctgov_and_nmpa_samples(store: Store) -> None:
    ct = import_registry(store, "ctgov", REG / "ctgov" / "NCT03418623.json", region=None, today=TODAY,
                         retrieved=RETRIEVED)
    assert ct.records_read == 1
    assert ct.candidates_created == 1
    assert ct.unresolved[0].startswith("ctgov:")
    nm = import_registry(store, "nmpa", REG / "nmpa" / "nmpa_domestic_drug_detail_example.json", region=None,
                         today=TODAY,
                         retrieved=RETRIEVED)
    assert nm.events_added == 1
    assert nm.warnings


def test_cli_ingest_and_check(sqlite_url: str, tmp_path: Path) -> None:
    copy = tmp_path / CTR.name
    shutil.copy(CTR, copy)
    result = invoke(sqlite_url, "ingest", "ctr", str(copy), "--region", "all", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["candidates_created"] > 0
    assert data["dry_run"] is False
    result = invoke(sqlite_url, "check", "--as-of", "2025-01-01", "--json")
    assert result.exit_code == 0, result.stderr
    kinds = {f["kind"] for f in json.loads(result.stdout)["findings"]}
    assert "unresolved" in kinds
    bad = invoke(sqlite_url, "check", "--as-of", "soon")  # a user error: one line on stderr, exit 2
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error:")
    assert "soon" in bad.stderr
    assert bad.stderr.count("\n") == 1
    missing = invoke(sqlite_url, "ingest", "nmpa", str(tmp_path / "nope.csv"), "--region", "all")
    assert missing.exit_code == 2
    assert "nope.csv" in missing.stderr
    assert "file not found" in missing.stderr
