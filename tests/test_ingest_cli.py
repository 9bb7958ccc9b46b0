"""The ingest commands through the real entry point: explicit region and honest counts, one summary type,
progress on a terminal only, bounded memory, and running out of memory as a one-line error."""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import io
import json
import re
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from pipecast.cli import run
from pipecast.commands.ingest_cmds import _progress_console, progress_bar
from pipecast.errors import ImportMemoryError
from pipecast.ingest import announcements, ctgov, ctr, nmpa, registry_import, template, trials
from pipecast.ingest.registry_import import import_registry
from pipecast.ingest.summary import ImportSummary
from pipecast.ingest.template import ColumnMapping, import_template, parse_mapping
from pipecast.ingest.trials import TrialRecord
from pipecast.settings import setting
from pipecast.store import Store

REG = Path(__file__).parent / "data" / "registry" / "ctr"
CTR = REG / "trial_info_sample.csv"
SITES = REG / "trial_site_info_sample.csv"
TODAY = dt.date(2026, 1, 1)
KEYS = {"file", "kind", "dry_run", "region", "records_read", "records_in_region", "records_without_event",
        "records_kept", "candidates_created", "candidates_updated", "events_added", "events_known", "resolved",
        "unresolved", "warnings", "changes", "changes_omitted", "changed"}
CHONGQING = re.compile("重庆|chongqing|chungking", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(setting("today").env, TODAY.isoformat())


def _db(tmp_path: Path) -> str:
    return str(tmp_path / "cq.sqlite")


def _readme_args(tmp_path: Path, *extra: str) -> list[str]:
    """README step 6: `pipecast --db build/cq.sqlite ingest ctr trial_info_sample.csv --sites ... --dry-run`."""
    return ["--db", _db(tmp_path), "ingest", "ctr", str(CTR), "--sites", str(SITES), "--dry-run", *extra]


def _expected_counts() -> tuple[int, int, int]:
    """(read, in Chongqing, kept) counted from the raw CSVs: sponsor or a site city/province in Chongqing;
    kept = also a clinical phase (I, II, III; not IV or bioequivalence) and a publication date."""
    with CTR.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with SITES.open(encoding="utf-8") as fh:
        local = {s["ctr_no"] for s in csv.DictReader(fh) if CHONGQING.search(s["city"] + s["province_state"])}
    region = [r for r in rows if CHONGQING.search(r["sponsor"]) or r["ctr_no"] in local]
    clinical = [r for r in region if re.search(r"I+[ab]?期|I/II|II/III", r["phase"]) and "IV" not in r["phase"]
                and r["publication_date"] and "终止" not in r["status"]]
    return len(rows), len(region), len(clinical)


# ------------------------------------------------------------------------------------------------ region


def test_readme_example_without_region_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_readme_args(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--region" in err
    assert not Path(_db(tmp_path)).exists()


def test_readme_example_counts_are_honest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    read, in_region, kept = _expected_counts()
    assert (read, in_region) == (16, 5)
    assert run(_readme_args(tmp_path, "--region", "重庆", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["records_read"], data["records_in_region"], data["records_kept"]) == (read, in_region, kept)
    assert data["region"] == trials.DEFAULT_REGION
    assert run(_readme_args(tmp_path, "--region", "Chongqing")) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert f"{read} record(s) read, {in_region} in region 重庆|Chongqing|Chungking, {kept} kept" in head
    assert run(_readme_args(tmp_path, "--region", "all", "--json")) == 0
    every = json.loads(capsys.readouterr().out)
    assert every["region"] == "all"
    assert every["records_in_region"] == read
    assert every["records_kept"] == read - every["records_without_event"] < read  # BE/IV rows give no event
    assert run(_readme_args(tmp_path, "--region", "all")) == 0
    assert "no region filter (--region all)" in capsys.readouterr().out.splitlines()[0]


def test_bad_region_pattern_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_readme_args(tmp_path, "--region", "(")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "bad region pattern" in err


# --------------------------------------------------------------------------------------------- summary


def _template_file(path: Path, rows: list[str]) -> Path:
    path.write_text("名称,阶段,起始日期\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def test_one_summary_type_and_one_set_of_json_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = _template_file(tmp_path / "t.csv", ["新药X片,II期,2023-05-06"])
    ann = tmp_path / "a.csv"
    ann.write_text("drug,event,date,source_url,source_title\n新药Y片,IND approved,2024-01-04,https://example.org/a,T\n",
                   encoding="utf-8")
    outputs = []
    for args in (["ingest", "ctr", str(CTR), "--region", "重庆"],
                 ["ingest", "template", str(sheet), "--map", "名称=name,阶段=phase,起始日期=phase_start"],
                 ["ingest", "announcements", str(ann)]):
        assert run(["--db", _db(tmp_path), *args, "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert [set(o) for o in outputs] == [KEYS] * 3
    assert [o["kind"] for o in outputs] == ["ctr", "template", "announcements"]
    assert outputs[1]["records_read"] == 1
    assert outputs[1]["region"] == "all"
    assert registry_import.import_registry.__annotations__["return"] == "ImportSummary"
    for function in (import_template, announcements.import_announcements):
        assert function.__annotations__["return"] == "ImportSummary"
    assert not hasattr(template, "FileImportSummary")
    assert not hasattr(registry_import, "RegistryImportSummary")


def test_updated_candidates_are_counted_per_candidate(sqlite_url: str, tmp_path: Path) -> None:
    mapping = parse_mapping("名称=name,阶段=phase,起始日期=phase_start")
    with Store.open(sqlite_url) as store:
        first = import_template(store, _template_file(tmp_path / "1.csv", ["药A,I期,2022-01-01", "药B,I期,2022-02-01"]),
                                mapping, today=TODAY)
        assert (first.candidates_created, first.candidates_updated) == (2, 0)
        ids = {a.name: a.id for a in store.assets()}
        # 药A gets two new events (three change lines), 药B nothing new, 药C is new
        second = import_template(store, _template_file(tmp_path / "2.csv", [
            "药A,II期,2023-01-01", "药A,III期,2024-01-01", "药B,I期,2022-02-01", "药C,I期,2022-03-01"]), mapping,
            today=TODAY)
        assert (second.candidates_created, second.candidates_updated, second.events_added) == (1, 1, 3)
        assert len(store.asset(ids["药A"]).history) == 3


def test_candidates_updated_come_from_the_stores_per_candidate_counter(sqlite_url: str) -> None:
    from pipecast.domain import Asset, Phase, PhaseEvent

    p1, p2 = PhaseEvent(Phase.PHASE1, dt.date(2020, 1, 1)), PhaseEvent(Phase.PHASE2, dt.date(2021, 1, 1))
    with Store.open(sqlite_url) as store:
        store.add_assets([Asset("a", "Alpha", (p1,)), Asset("c", "Gamma", (p1,))])
        result = store.add_assets([Asset("a", "Alpha", (p1, p2)), Asset("b", "Beta", (p1,)),
                                   Asset("c", "Gamma", (p1,))])
    # counted by hand: a gains one event; b is created with one event; c is unchanged
    assert result.changes_by_asset == {"a": 1, "b": 2}
    summary = ImportSummary(file="f", kind="template")
    summary.record_write(result, existing=["a", "c"])
    assert (summary.candidates_created, summary.candidates_updated, summary.events_added) == (1, 1, 2)


# -------------------------------------------------------------------------------------------- progress


def test_progress_bar_counts_records_on_a_terminal() -> None:
    buf = io.StringIO()
    with progress_bar("reading x.csv", Console(file=buf, force_terminal=True, width=100)) as advance:
        assert advance is not None
        advance(5000)
    assert "reading x.csv" in buf.getvalue()
    assert "5,000 records" in buf.getvalue()
    buf = io.StringIO()
    with progress_bar("reading x.csv", Console(file=buf, force_terminal=True, width=100)) as bar:
        assert bar is not None
        bar.writing(1200)  # the same bar, through the store write
    assert "writing to the store" in buf.getvalue()
    assert "1,200 candidates written" in buf.getvalue()
    with progress_bar("reading x.csv", None) as nothing:
        assert nothing is None
    assert _progress_console(as_json=True) is None
    assert _progress_console(as_json=False) is None  # pytest's stderr is not a terminal


def test_import_reports_progress_up_to_every_record(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    _write_export(path, 2500)
    seen: list[int] = []
    with Store.open(sqlite_url) as store:
        summary = import_registry(store, "ctr", path, region=None, today=TODAY, retrieved=TODAY, dry_run=True,
                                  progress=seen.append)
    assert seen == [1000, 2000, 2500]
    assert summary.records_read == 2500


def test_import_reports_candidates_written(sqlite_url: str, tmp_path: Path) -> None:
    path = _write_export(tmp_path / "big.csv", 2500)
    written: list[int] = []
    with Store.open(sqlite_url) as store:
        summary = import_registry(store, "ctr", path, region=None, today=TODAY, retrieved=TODAY,
                                  write_progress=written.append)
        stored = len(store.assets())
    # 40 names; the 10 whose every record is a BE trial (name k with k % 4 == 3) give no candidate
    assert written == [30]
    assert summary.candidates_created == stored == 30


def test_no_progress_output_with_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_readme_args(tmp_path, "--region", "all", "--json")) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert json.loads(captured.out)["records_read"] == 16


# ------------------------------------------------------------------------------------ memory, streaming


def _write_export(path: Path, n: int, names: int = 40) -> Path:
    """A CTR export of `n` dated trials of `names` drugs (few candidates, many records)."""
    phases = ("I期", "II期", "III期", "BE试验")
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("ctr_no", "drug_name", "phase", "sponsor", "publication_date", "indication"))
        for i in range(n):
            writer.writerow((f"CTR2020{i:06d}", f"测试药{i % names}片", phases[i % 4], "重庆某药业",
                             f"20{15 + i % 10}-{1 + i % 12:02d}-{1 + i % 28:02d}", "实体瘤"))
    return path


def _peak(store: Store, path: Path) -> int:
    tracemalloc.start()
    try:
        import_registry(store, "ctr", path, region=None, today=TODAY, retrieved=TODAY, dry_run=True)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_import_memory_grows_with_candidates_not_records(sqlite_url: str, tmp_path: Path) -> None:
    small, large = _write_export(tmp_path / "s.csv", 3000), _write_export(tmp_path / "l.csv", 15000)
    with Store.open(sqlite_url) as store:
        _peak(store, small)  # warm-up: imports and caches
        per_record = (_peak(store, large) - _peak(store, small)) / 12000
    # the duplicate check keeps ~150 bytes per 登记号; keeping every TrialRecord (the old way) costs > 1 KB
    assert per_record < 600, per_record


def test_running_out_of_memory_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _db(tmp_path)
    assert run(["--db", db, "ingest", "ctr", str(CTR), "--sites", str(SITES), "--region", "重庆"]) == 0
    capsys.readouterr()
    with Store.open(db) as store:
        before = (store.table_counts(), store.assets())
    copy = tmp_path / "copy.csv"
    shutil.copy(CTR, copy)
    calls = {"n": 0}
    real = ctr._ctr_record

    def exhausted(*args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise MemoryError
        return real(*args, **kw)

    monkeypatch.setattr(ctr, "_ctr_record", exhausted)
    assert run(["--db", db, "ingest", "ctr", str(copy), "--region", "all"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {copy}: out of memory during the import; nothing was written " \
                  "(split the file, or import it on a machine with more memory)\n"
    monkeypatch.setattr(ctr, "_ctr_record", real)

    def write_fails(self: Store, **kw: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(Store, "import_data", write_fails)
    sheet = _template_file(tmp_path / "t.csv", ["新药X片,II期,2023-05-06"])
    mapping = "名称=name,阶段=phase,起始日期=phase_start"
    assert run(["--db", db, "ingest", "template", str(sheet), "--map", mapping]) == 2
    assert "out of memory during the import; nothing was written" in capsys.readouterr().err
    with Store.open(db) as store:
        assert (store.table_counts(), store.assets()) == before
    assert issubclass(ImportMemoryError, Exception)


# ---------------------------------------------------------------------------------- clock and dead code


@pytest.mark.parametrize("function", [
    ctr.read_ctr, ctr.iter_ctr, nmpa.read_nmpa, nmpa.iter_nmpa, template.read_template, template.import_template,
    announcements.read_announcements, announcements.import_announcements, registry_import.import_registry,
    trials.derive_history,
])
def test_today_is_passed_in_never_read(function: Any) -> None:
    params = inspect.signature(function).parameters
    name = "as_of" if function is trials.derive_history else "today"
    assert params[name].default is inspect.Parameter.empty


def test_no_hidden_clock_in_ingest_code() -> None:
    folder = Path(ctr.__file__).parent
    for module in ("announcements", "assets_file", "ctgov", "ctr", "nmpa", "registry_import", "summary",
                   "template", "trials"):
        text = (folder / f"{module}.py").read_text(encoding="utf-8")
        assert "date.today(" not in text, module
        assert "fromtimestamp(path" not in text, module


def test_dead_code_is_gone() -> None:
    assert not hasattr(ColumnMapping, "column_for")
    assert not hasattr(TrialRecord, "not_started")
    assert not hasattr(ctgov, "fetch")


# ------------------------------------------------------------------------------ name matching, once per name


def test_each_distinct_name_is_scored_once_for_the_decision_and_the_hint(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipecast import matching

    calls: list[str] = []
    real = matching.match_candidates

    def counted(name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(matching, "match_candidates", counted)
    path = tmp_path / "ctr.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("ctr_no", "drug_name", "phase", "sponsor", "publication_date", "indication"))
        # 6 records, 2 names once folded (AB-101片 = ab 101片; CD-202胶囊), none known: 2 unresolved, with hints
        names = ("AB-101片", "ab 101片", "AB-101片", "CD-202胶囊", "CD-202胶囊", "AB-101片")
        for i, name in enumerate(names):
            writer.writerow((f"CTR2020{i:04d}", name, "I期", "某药业", "2021-03-01", "实体瘤"))
    with Store.open(sqlite_url) as store:
        summary = import_registry(store, "ctr", path, region=None, today=TODAY, retrieved=TODAY)
        notes = {a.id: a.note for a in store.assets()}
    assert sorted(c for c in calls if c in names) == ["AB-101片", "CD-202胶囊"]  # not the bundled table's names
    assert summary.unresolved == ["ctr:ab101", "ctr:cd202"]
    assert all(note.startswith("unresolved registry name") for note in notes.values())


def test_template_names_are_resolved_once_per_folded_name(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = template.resolve_name

    def counted(name: str, *args: Any) -> Any:
        calls.append(name)
        return real(name, *args)

    monkeypatch.setattr(template, "resolve_name", counted)
    from pipecast.matching import AliasTable

    table = AliasTable()
    table.add("GR1501", "drug", "genrix-gr1501")
    once = template.NameResolver(table, "template")
    found = [once(n) for n in ("GR1501注射液", "gr1501注射液", "GR-1501 注射液", "XY-9")]
    assert calls == ["GR1501注射液", "XY-9"]
    assert [r.id for r in found] == ["genrix-gr1501"] * 3 + ["template:xy9"]
