"""Alerts: change detection and matching, digests in the watcher's language, and e-mail delivery through a real
local SMTP server (aiosmtpd, on 127.0.0.1) — one that accepts, one that refuses, one that never answers —
with refused and timed-out deliveries kept queued and retried."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_app import invoke
from pipecast.alerts import Change, Watch, describe, diff, digest, matching
from pipecast.domain import Phase, PhaseEvent, Source
from pipecast.errors import InputError
from pipecast.store import Store
from pipecast.store import alerts as alert_store
from pipecast.store import users as user_store
from pipecast.store.money import DealRecord, add_money

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
TODAY = "2026-12-01"


def test_diff_classifies_and_tags() -> None:
    tags = {"phase:a": frozenset({("candidate", "a"), ("company", "org:x")}), "risk:k": frozenset({("target", "k")})}
    old = {"phase:a": "phase3", "phase:b": "phase1", "risk:k": "on track", "deal:1": "x -> y"}
    new = {"phase:a": "filed", "phase:b": "phase1", "risk:k": "at risk", "deal:1": "x -> y", "deal:2": "x -> z",
           "phase:c": "approved"}
    changes = diff(old, new, tags)
    assert [(c.kind, c.key, c.old, c.new) for c in changes] == [
        ("deal", "deal:2", "", "x -> z"), ("filing", "phase:a", "phase3", "filed"),
        ("approval", "phase:c", "", "approved"), ("risk", "risk:k", "on track", "at risk")]
    watches = [Watch("li", "company", "org:x"), Watch("li", "candidate", "a"), Watch("wang", "target", "k"),
               Watch("zhao", "region", "hefei")]
    assert {u: [c.key for c in cs] for u, cs in matching(watches, changes).items()} == {
        "li": ["phase:a"], "wang": ["risk:k"]}
    with pytest.raises(InputError, match="watch kind"):
        Watch("li", "drug", "a")


def test_digest_in_each_language() -> None:
    change = Change("approval", "phase:genrix-gr1802", "filed", "approved", "GR1802")
    subject_en, body_en = digest("li", [change], "en", dt.date(2026, 12, 1))
    subject_zh, body_zh = digest("li", [change], "zh", dt.date(2026, 12, 1))
    assert subject_en == "pipecast alerts: 1 change (2026-12-01)"
    assert "filed -> approved" in body_en
    assert subject_zh.startswith("pipecast 提醒")
    assert "已申报上市 → 已获批上市" in body_zh
    assert "获批上市" in describe(change, "zh")
    assert "approval" in describe(change, "en")
    with pytest.raises(InputError, match="language"):
        digest("li", [change], "fr", dt.date(2026, 12, 1))


# ------------------------------------------------------------------------------------------------ SMTP servers


class Collect:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class Refuse:
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return "550 5.7.1 relaying refused"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Start an aiosmtpd server with a handler; returns a function (handler) -> port, all stopped after."""
    started: list[Any] = []

    def start(handler: object) -> int:
        port = _free_port()
        controller = aiosmtpd_controller.Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        monkeypatch.setenv("PIPECAST_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("PIPECAST_SMTP_PORT", str(port))
        return port

    monkeypatch.setenv("PIPECAST_SMTP_FROM", "alerts@pipecast.test")
    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def silent_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A server that accepts connections and never says a word (the client's timeout fires)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    sock.close()


# ------------------------------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alerts") / "bundled.sqlite"
    assert invoke(str(path), "load-bundled", "chongqing").exit_code == 0
    return path


@pytest.fixture
def db(bundled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PIPECAST_TODAY", TODAY)
    copy = tmp_path / "alerts.sqlite"
    copy.write_bytes(bundled.read_bytes())
    with Store.open(copy) as store, user_store.session_scope(store, write=True) as session:
        for name in ("li", "wang", "zhao"):
            user_store.add_user(session=session, name=name, role="viewer")
    return str(copy)


def _approve_gr1802_and_add_deal(db: str) -> None:
    """What an import would do: GR1802 approved, and a new Genrix deal."""
    with Store.open(db) as store:
        asset = store.asset("genrix-gr1802")
        approval = PhaseEvent(Phase.APPROVED, dt.date(2026, 11, 30), Source("NMPA approval (test)", "https://x.test/a"))
        store.add_assets([dataclasses.replace(asset, history=(*asset.history, approval))])
        add_money(store, [DealRecord("test-deal-1", "Chongqing Genrix Biopharmaceutical", "Test Pharma", "USD",
                                     "2026-11", "deal (test)", "https://x.test/d", candidate="genrix-gr1802")])


def _setup_watchers(db: str) -> None:
    for args in (("watch", "li", "candidate", "genrix-gr1802"), ("recipient", "li", "--email", "li@example.org",
                                                                 "--lang", "zh"),
                 ("watch", "wang", "region", "chongqing"), ("recipient", "wang", "--email", "wang@example.org"),
                 ("watch", "zhao", "candidate", "precision-pcar19b")):
        outcome = invoke(db, "alerts", *args)
        assert outcome.exit_code == 0, outcome.stderr


def test_scan_digests_and_delivery(db: str, smtp_env: Any) -> None:
    _setup_watchers(db)
    assert json.loads(invoke(db, "alerts", "scan", "--json").stdout) == {"changes": 0, "digests": 0}  # baseline
    assert json.loads(invoke(db, "alerts", "scan", "--json").stdout) == {"changes": 0, "digests": 0}  # no change
    _approve_gr1802_and_add_deal(db)
    assert json.loads(invoke(db, "alerts", "scan", "--json").stdout)["digests"] == 2  # li and wang; not zhao
    with Store.open(db) as store:
        by_user = {d.user: d for d in alert_store.digests(store)}
    assert set(by_user) == {"li", "wang"}
    li, wang = by_user["li"], by_user["wang"]
    assert li.language == "zh"
    assert "已申报上市 → 已获批上市" in li.body
    assert "新交易" in li.body
    assert wang.language == "en"
    assert "filed -> approved" in wang.body
    assert "Test Pharma" in wang.body
    collect = Collect()
    smtp_env(collect)
    outcome = invoke(db, "alerts", "send", "--no-scan", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    assert json.loads(outcome.stdout)["sent"] == 2
    got = {m["To"]: m for m in collect.messages}
    assert set(got) == {"li@example.org", "wang@example.org"}
    assert got["li@example.org"]["Subject"] == li.subject
    assert got["li@example.org"]["From"] == "alerts@pipecast.test"
    assert "已获批上市" in got["li@example.org"].get_content()
    assert json.loads(invoke(db, "alerts", "send", "--no-scan", "--json").stdout)["sent"] == 0  # nothing twice
    listed = json.loads(invoke(db, "alerts", "list", "li", "--json").stdout)
    assert listed[0]["deliveries"] == [{"address": "li@example.org", "status": "sent", "attempts": 1,
                                        "last_error": ""}]


def test_refused_and_timed_out_deliveries_stay_queued_and_are_retried(
        db: str, smtp_env: Any, silent_port: int, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    _setup_watchers(db)
    invoke(db, "alerts", "scan")
    _approve_gr1802_and_add_deal(db)
    invoke(db, "alerts", "scan")
    smtp_env(Refuse())
    with caplog.at_level("WARNING", logger="pipecast.mail"):
        refused = invoke(db, "alerts", "send", "--no-scan", "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["failed"] == 2
    assert "550" in caplog.text
    assert "kept queued" in caplog.text
    monkeypatch.setenv("PIPECAST_SMTP_PORT", str(silent_port))
    monkeypatch.setenv("PIPECAST_SMTP_TIMEOUT", "1")
    timed_out = invoke(db, "alerts", "send", "--no-scan", "--json")
    assert timed_out.exit_code == 1
    assert all("timed out" in e for e in json.loads(timed_out.stdout)["errors"])
    with Store.open(db) as store:
        queued = alert_store.pending(store)
        assert [(p.address, p.attempts) for p in queued] == [("li@example.org", 2), ("wang@example.org", 2)]
    collect = Collect()
    smtp_env(collect)
    retried = invoke(db, "alerts", "send", "--no-scan", "--json")
    assert retried.exit_code == 0
    assert json.loads(retried.stdout)["sent"] == 2
    assert len(collect.messages) == 2
    with Store.open(db) as store:
        assert alert_store.pending(store) == []
        assert alert_store.delivery_counts(store) == {"queued": 0, "sent": 2}
        assert {d.deliveries[0][2] for d in alert_store.digests(store)} == {3}  # refused, timed out, sent


def test_send_without_server_is_one_line(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPECAST_SMTP_HOST", raising=False)
    outcome = invoke(db, "alerts", "send")
    assert outcome.exit_code == 2
    assert "PIPECAST_SMTP_HOST" in outcome.stderr
    assert outcome.stderr.count("\n") == 1
    bad = invoke(db, "alerts", "watch", "nobody", "candidate", "genrix-gr1802")
    assert bad.exit_code == 2
    assert "unknown user 'nobody'" in bad.stderr


def test_snapshot_verdicts_match_the_plan_command(db: str) -> None:
    """The risk keys a scan compares are the verdicts `pipecast plan --json` gives (a second path)."""
    from pipecast.commands.alerts_cmd import registry_snapshot

    with Store.open(db) as store:
        snapshot, tags, _ = registry_snapshot(store, dt.date(2026, 12, 1))
    plan = json.loads(invoke(db, "plan", "--as-of", TODAY, "--json").stdout)["targets"]
    verdicts = {f"risk:{t['id']}": t["verdict"] for t in plan}
    assert {k: v for k, v in snapshot.items() if k.startswith("risk:")} == verdicts
    assert snapshot["phase:genrix-gr1802"] == "filed"
    assert ("company", "org:genrix") in tags["phase:genrix-gr1802"]
    assert ("region", "chongqing") in tags["phase:genrix-gr1802"]
