"""One drug is one candidate, whatever the loading order (issue 8).

A template row named 赛立奇单抗 (GR1501) and the bundled Chongqing set, loaded in either order through the real
command line, give one candidate `genrix-gr1501`, keep the bundled sponsor spelling (sponsor groups drive
correlation), and the same P(target) as the bundled set alone, computed on a second store.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import pipecast
from cli_app import invoke
from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.store import Store
from pipecast.targets import parse_target

AS_OF = dt.date(2026, 12, 1)
TARGET = "2027-2030:1-3"
BUNDLED_SPONSOR = "Chongqing Genrix Biopharmaceutical (智翔金泰)"
TEMPLATE_SPONSOR = "重庆智翔金泰生物制药股份有限公司"


@pytest.fixture
def template(tmp_path: Path) -> Path:
    # filed on the day the bundled set has its filing, but without its indication or source: were it another
    # candidate, it would be a filed candidate still awaiting approval and raise P(target)
    path = tmp_path / "rows.csv"
    path.write_text(f"名称,阶段,起始日期,企业\n赛立奇单抗,NDA,2023-03-15,{TEMPLATE_SPONSOR}\n", encoding="utf-8")
    return path


def _template(db: str, path: Path) -> None:
    out = invoke(db, "ingest", "template", str(path), "--map", "名称=name,阶段=phase,起始日期=phase_start,企业=sponsor")
    assert out.exit_code == 0, out.stderr


def _bundled(db: str) -> None:
    out = invoke(db, "load-bundled", "chongqing")
    assert out.exit_code == 0, out.stderr


def p_target(db: str) -> float:
    result = pipecast.forecast(db=db, as_of=AS_OF, target=TARGET)
    return result.check(parse_target(TARGET)).all_years_in_band


@pytest.fixture(scope="module")
def bundled_only(tmp_path_factory: pytest.TempPathFactory) -> tuple[float, int]:
    db = str(tmp_path_factory.mktemp("bundled") / "store.sqlite")
    _bundled(db)
    with Store.open(db) as store:
        return p_target(db), len(store.assets())


def _gr1501(store: Store) -> list[Asset]:
    return [a for a in store.assets() if "gr1501" in a.id.casefold() or "赛立奇单抗" in (a.name, *a.aliases)]


@pytest.mark.parametrize("order", ["template first", "bundled first"])
def test_one_candidate_whatever_the_order(order: str, template: Path, tmp_path: Path,
                                          bundled_only: tuple[float, int]) -> None:
    db = str(tmp_path / "store.sqlite")
    if order == "template first":
        _template(db, template)
        _bundled(db)
    else:
        _bundled(db)
        _template(db, template)
    with Store.open(db) as store:
        [gr1501] = _gr1501(store)
        assert gr1501.id == "genrix-gr1501"
        assert gr1501.phase is Phase.APPROVED
        assert gr1501.sponsor == BUNDLED_SPONSOR
        assert len(store.assets()) == bundled_only[1]
        assert store.review_matches() == []
        genrix = {a.sponsor for a in store.assets() if a.id.startswith("genrix-")}
        assert genrix == {BUNDLED_SPONSOR}  # the sponsor group stays whole
    assert p_target(db) == pytest.approx(bundled_only[0], abs=1e-12)


def test_a_second_candidate_would_change_the_answer(tmp_path: Path, bundled_only: tuple[float, int]) -> None:
    """The check above can fail: the same row filed under another id (the old behaviour) moves P(target)."""
    db = str(tmp_path / "store.sqlite")
    _bundled(db)
    with Store.open(db) as store:
        store.add_assets([Asset("GR1501", "赛立奇单抗", (PhaseEvent(Phase.FILED, dt.date(2023, 3, 15)),),
                                sponsor=TEMPLATE_SPONSOR)])
    assert abs(p_target(db) - bundled_only[0]) > 1e-3


def test_a_store_with_the_old_id_absorbs_the_bundled_candidate(tmp_path: Path) -> None:
    """A store made before the ids were aligned holds `GR1501`: the bundled load files its candidate there."""
    db = str(tmp_path / "store.sqlite")
    with Store.open(db) as store:
        store.add_assets([Asset("GR1501", "赛立奇单抗", (PhaseEvent(Phase.FILED, dt.date(2023, 3, 15)),))])
    _bundled(db)
    with Store.open(db) as store:
        [gr1501] = _gr1501(store)
        assert gr1501.id == "GR1501"
        assert gr1501.phase is Phase.APPROVED
        assert "genrix-gr1501" in gr1501.aliases
