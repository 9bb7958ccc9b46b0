"""Deals and funding events in the store: sourced, append-only, chained; the bundled Chongqing rows."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pipecast.cli import run
from pipecast.errors import AppendOnlyError, InputError
from pipecast.store import Store
from pipecast.store.money import (
    DealRecord,
    FundingEventRow,
    FundingRecord,
    add_money,
    deals,
    funding,
    read_money_folder,
)
from shared_paths import REPO_ROOT, SHARED_DATA

BUNDLED = REPO_ROOT / "src" / "pipecast" / "data" / "chongqing"

LOAN = FundingRecord(
    key="bank-loan-1",
    kind="loan",
    recipient="Acme Bio",
    currency="CNY",
    date_text="2025-03-01",
    source_title="Acme announcement",
    source_url="https://example.org/loan",
    date=dt.date(2025, 3, 1),
    amount=300.0,
    rate=0.035,
    term_months=36,
    collateral="factory",
    funder="Bank of Chongqing",
)
GRANT = FundingRecord(
    key="grant-1",
    kind="grant",
    recipient="Beta Pharma",
    currency="CNY",
    date_text="2024-05",
    source_title="Municipal notice",
    source_url="https://example.org/grant",
    date=dt.date(2024, 5, 31),
    amount=2.0,
)
DEAL = DealRecord(
    key="a1-partner",
    licensor="Acme Bio",
    licensee="Partner",
    currency="USD",
    date_text="2025-06-04",
    source_title="Press release",
    source_url="https://example.org/deal",
    date=dt.date(2025, 6, 4),
    upfront=20.0,
    headline=100.0,
    terms=json.dumps({"upfront": 20, "milestones": [{"event": "approved", "amount": 80}]}),
)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url) as opened:
        yield opened


def test_round_trip_idempotent_and_as_of(store: Store) -> None:
    assert add_money(store, [DEAL], [LOAN, GRANT]) == (1, 2)
    assert add_money(store, [DEAL], [LOAN, GRANT]) == (0, 0)  # the same rows again add nothing
    assert funding(store) == [GRANT, LOAN]  # oldest first
    assert funding(store, kind="loan") == [LOAN]
    assert funding(store, as_of=dt.date(2024, 12, 31)) == [GRANT]
    assert deals(store) == [DEAL]
    assert deals(store, as_of=dt.date(2025, 6, 3)) == []
    loan = funding(store, kind="loan")[0]
    assert (loan.rate, loan.term_months, loan.collateral) == (0.035, 36, "factory")
    assert deals(store)[0].as_dict()["terms"]["milestones"][0]["amount"] == 80


def test_a_changed_row_under_a_known_key_is_refused_and_nothing_is_written(store: Store) -> None:
    add_money(store, [], [LOAN])
    changed = dataclasses.replace(LOAN, amount=400.0)
    new = dataclasses.replace(GRANT, key="grant-2")
    with pytest.raises(InputError, match="already recorded with other values"):
        add_money(store, [], [new, changed])
    assert funding(store) == [LOAN]  # grant-2 was not written either


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source_url": ""}, "source_url"),
        ({"date_text": ""}, "date_text"),
        ({"kind": "gift"}, "kind"),
        ({"amount": -1.0}, "amount"),
        ({"rate": 1.5}, "rate"),
        ({"currency": ""}, "currency"),  # an amount needs its currency
    ],
)
def test_bad_rows_are_one_line_errors(store: Store, change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        add_money(store, [], [dataclasses.replace(LOAN, **change)])
    assert caught.value.field == field
    assert "\n" not in str(caught.value)
    assert funding(store) == []


def test_no_amount_needs_no_currency(store: Store) -> None:
    unknown = dataclasses.replace(DEAL, key="unknown-terms", currency="", upfront=None, headline=None)
    assert add_money(store, [unknown]) == (1, 0)
    assert deals(store)[0].upfront is None


def test_the_orm_and_the_database_refuse_rewrites(store: Store) -> None:
    add_money(store, [DEAL], [LOAN])
    with Session(store.engine) as session:
        row = session.scalars(select(FundingEventRow)).one()
        row.amount = 1.0
        with pytest.raises(AppendOnlyError):
            session.flush()
    for statement in ("UPDATE funding_events SET amount = 1", "DELETE FROM funding_events", "DELETE FROM deals",
                      "UPDATE deals SET headline = 1"):
        with pytest.raises(SQLAlchemyError), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert funding(store) == [LOAN]
    assert deals(store) == [DEAL]


def test_insert_or_replace_is_refused_on_sqlite(sqlite_url: str) -> None:
    with Store.open(sqlite_url) as store:
        add_money(store, [], [LOAN])
        with pytest.raises(SQLAlchemyError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text("INSERT OR REPLACE INTO funding_events (id, key, kind, recipient, candidate, funder, "
                              "date_text, currency, amount_text, collateral, round, programme, source_title, "
                              "source_url, note, recorded_at) SELECT id, key, kind, recipient, candidate, funder, "
                              "date_text, currency, amount_text, collateral, round, programme, source_title, "
                              "source_url, note, recorded_at FROM funding_events"))


def test_rows_are_chained_and_tampering_shows(sqlite_url: str) -> None:
    with Store.open(sqlite_url) as store:
        add_money(store, [DEAL], [LOAN, GRANT])
        report = store.verify()
        assert report.broken is None
        assert (report.rows["deals"], report.rows["funding_events"]) == (1, 2)
        with store.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER funding_events_no_update"))
            conn.execute(text("UPDATE funding_events SET amount = 999 WHERE key = 'bank-loan-1'"))
        broken = store.verify().broken
        assert broken is not None
        assert broken.table == "funding_events"
        assert "amount is 999.0" in broken.problem


# ------------------------------------------------------------------------------------------ bundled data


def test_bundled_rows_are_sourced_and_dated() -> None:
    deal_list, funding_list = read_money_folder(BUNDLED)
    assert len(deal_list) >= 4
    assert len(funding_list) >= 10
    records: list[DealRecord | FundingRecord] = [*deal_list, *funding_list]
    for record in records:
        assert record.source_url.startswith("http"), record.key
        assert record.source_title, record.key
        assert record.date_text, record.key


def _shared_fact(topic_text: str) -> float:
    """The amount in the shared sourced economics table (USD million) whose row names `topic_text`."""
    with (SHARED_DATA / "economics" / "economics_facts.csv").open(encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) > 2 and topic_text in row[1]:
                return float(row[2])
    raise AssertionError(topic_text)


@pytest.mark.skipif(not (SHARED_DATA / "economics").is_dir(), reason="needs ../shared/data")
def test_bundled_gr1803_deal_matches_the_shared_sourced_figures() -> None:
    deal_list, _ = read_money_folder(BUNDLED)
    gr1803 = next(d for d in deal_list if d.candidate == "genrix-gr1803")
    assert gr1803.upfront == _shared_fact("Cullinan-Genrix velinotamig (GR1803, BCMAxCD3 TCE): upfront")
    assert gr1803.development_milestones == _shared_fact("development & regulatory milestones")
    assert gr1803.sales_milestones == _shared_fact("sales-based milestones")
    assert gr1803.headline == _shared_fact("total potential deal value") == 20 + 292 + 400
    assert gr1803.date == dt.date(2025, 6, 4)
    cms = [d for d in deal_list if "CMS" in d.licensee]
    assert len(cms) == 2
    assert all(d.upfront is None and d.headline is None for d in cms)  # not published: unknown


@pytest.mark.skipif(not (SHARED_DATA / "chongqing").is_dir(), reason="needs ../shared/data")
def test_bundled_funding_amounts_match_the_shared_facts() -> None:
    _, funding_list = read_money_folder(BUNDLED)
    by_key = {f.key: f for f in funding_list}
    # 募集资金净额为329,140.14万元 = RMB 3,291.4014 million (shared facts.csv, in units of RMB 10k)
    with (SHARED_DATA / "chongqing" / "facts.csv").open(encoding="utf-8") as handle:
        ipo = next(r for r in csv.DictReader(handle) if r["field"] == "IPO net proceeds (RMB 10k)")
    assert by_key["genrix-ipo-2023-06"].amount == pytest.approx(float(ipo["value"].replace(",", "")) / 100)
    assert by_key["cq-2025-measures-approval-reward"].amount == 10
    assert by_key["cq-2025-measures-rd-subsidy-cumulative-cap"].amount == 2 + 2 + 3 + 10


def value(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_load_bundled_records_deals_and_funding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "p.sqlite")
    code, out, err = value(capsys, "--db", db, "load-bundled", "chongqing")
    assert code == 0, err
    assert "deals added: 4" in out
    code, out, err = value(capsys, "--db", db, "value", "deals", "--json")
    assert code == 0, err
    listed = json.loads(out)
    gr1803 = next(d for d in listed if d["candidate"] == "genrix-gr1803")
    assert (gr1803["upfront"], gr1803["headline"], gr1803["currency"]) == (20, 712, "USD")
    code, out, _ = value(capsys, "--db", db, "value", "funding", "--kind", "equity", "--as-of", "2022-12-31", "--json")
    assert code == 0
    assert [f["key"] for f in json.loads(out)] == ["zhirui-genrix-capital-increase-2020"]
    code, out, _ = value(capsys, "--db", db, "load-bundled", "chongqing")
    assert code == 0
    assert "deals added" not in out  # nothing new the second time
    code, _, err = value(capsys, "--db", db, "value", "funding", "--kind", "gift")
    assert code == 2
    assert "--kind" in err
    assert len(err.strip().splitlines()) == 1


def test_a_bad_data_file_names_file_row_and_field(tmp_path: Path) -> None:
    (tmp_path / "funding.csv").write_text(
        "key,kind,recipient,currency,date_text,source_title,source_url,amount\n"
        "x,loan,Acme,CNY,2025-01-01,Notice,,5\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        read_money_folder(tmp_path)
    assert (caught.value.row, caught.value.field) == (2, "source_url")
    assert "funding.csv" in str(caught.value)


DEAL_YAML = """candidate: a1
licensee: Partner Co
licensor: Acme Bio
date: 2025-03-01
currency: USD
upfront: 20
milestones:
  - {event: approved, amount: 100}
  - {event: sales, above: 500, amount: 50}
royalties: [{above: 0, rate: 0.05}]
source: {title: Press release, url: "https://example.org/a1", date: 2025-03-02}
"""


def test_record_a_deal_yaml_keeps_its_terms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipecast.loading.deals import deal_from_terms, load_deal

    path = tmp_path / "DEAL.yaml"
    path.write_text(DEAL_YAML, encoding="utf-8")
    db = str(tmp_path / "p.sqlite")
    assert run(["--db", db, "value", "record", str(path), "--dry-run"]) == 0
    assert "would add 1 deal(s)" in capsys.readouterr().out
    assert not Path(db).exists()  # a dry run creates nothing
    assert run(["--db", db, "value", "record", str(path)]) == 0
    assert run(["--db", db, "value", "record", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["deals_added"] == 0  # the second time adds nothing
    with Store.open(db, create=False) as store:
        (recorded,) = deals(store)
    assert recorded.key == "a1-partner-co-2025-03-01"
    assert (recorded.upfront, recorded.development_milestones, recorded.sales_milestones) == (20, 100, 50)
    assert recorded.headline == 20 + 100 + 50
    assert recorded.source_date == dt.date(2025, 3, 2)
    again = deal_from_terms(json.loads(recorded.terms), "store")
    original = load_deal(path)
    assert dataclasses.replace(again, origin="") == dataclasses.replace(original, origin="")


def test_recording_needs_a_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "DEAL.yaml"
    path.write_text(DEAL_YAML.split("source:")[0], encoding="utf-8")
    code = run(["--db", str(tmp_path / "p.sqlite"), "value", "record", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "key source" in err
    assert len(err.strip().splitlines()) == 1
