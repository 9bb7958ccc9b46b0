"""Phase history from trials, and region attribution: the rules in pipecast.ingest.trials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.ingest.ctr import read_ctr
from pipecast.ingest.resolve import chongqing_table, resolve
from pipecast.ingest.trials import TrialRecord, derive_history, in_region, region_reasons, split_list

D = dt.date
REGISTRY = Path(__file__).parent / "data" / "registry"
AS_OF = D(2025, 1, 1)


def trial(
    tid: str,
    phase: Phase | None,
    start: dt.date | None = None,
    posted: dt.date | None = None,
    status: str = "COMPLETED",
    conditions: tuple[str, ...] = (),
    **kw: Any,
) -> TrialRecord:
    return TrialRecord(
        "test",
        tid,
        phase=phase,
        start_date=start,
        first_posted=posted,
        status=status,
        conditions=conditions,
        **kw,
    )


def as_pairs(events: Iterable[PhaseEvent]) -> list[tuple[Phase, dt.date]]:
    return [(e.phase, e.date) for e in events]


def test_first_start_of_each_phase() -> None:
    trials = [
        trial("b", Phase.PHASE1, D(2019, 6, 1)),
        trial("a", Phase.PHASE1, D(2019, 1, 10)),
        trial("c", Phase.PHASE2, D(2020, 5, 1)),
    ]
    assert as_pairs(derive_history(trials, as_of=AS_OF)) == [
        (Phase.PHASE1, D(2019, 1, 10)),
        (Phase.PHASE2, D(2020, 5, 1)),
    ]


def test_later_phase_implies_earlier_and_dates_never_run_backwards() -> None:
    # A Phase 3 started before the only Phase 2: Phase 2 was passed by then.
    trials = [
        trial("p1", Phase.PHASE1, D(2018, 1, 1)),
        trial("p3", Phase.PHASE3, D(2019, 3, 1)),
        trial("p2", Phase.PHASE2, D(2020, 1, 1)),
    ]
    events = derive_history(trials, as_of=AS_OF)
    assert as_pairs(events) == [
        (Phase.PHASE1, D(2018, 1, 1)),
        (Phase.PHASE2, D(2019, 3, 1)),
        (Phase.PHASE3, D(2019, 3, 1)),
    ]
    source = events[1].source
    assert source is not None
    assert "implies phase2" in source.title


def test_combined_phase_counts_as_later_one() -> None:
    # Phase 1/2 arrives as Phase 2 (parse_phase); it implies Phase 1 on the same day.
    events = derive_history([trial("x", Phase.PHASE2, D(2021, 4, 4))], as_of=AS_OF)
    assert as_pairs(events) == [(Phase.PHASE1, D(2021, 4, 4)), (Phase.PHASE2, D(2021, 4, 4))]


def test_start_date_else_first_posted() -> None:
    with_start = trial("s", Phase.PHASE1, D(2020, 3, 1), posted=D(2020, 2, 1))
    posted_only = trial("p", Phase.PHASE2, None, posted=D(2021, 7, 7))
    assert as_pairs(derive_history([with_start, posted_only], as_of=AS_OF)) == [
        (Phase.PHASE1, D(2020, 3, 1)),
        (Phase.PHASE2, D(2021, 7, 7)),
    ]
    assert derive_history([trial("n", Phase.PHASE1)], as_of=AS_OF) == []


def test_terminated_and_withdrawn_give_no_progress_but_suspended_does() -> None:
    base = [trial("p1", Phase.PHASE1, D(2018, 1, 1))]
    for status in ("TERMINATED", "WITHDRAWN", "主动终止"):
        stopped = trial("p2", Phase.PHASE2, D(2019, 1, 1), status=status)
        assert [e.phase for e in derive_history([*base, stopped], as_of=AS_OF)] == [Phase.PHASE1], status
    suspended = trial("p2", Phase.PHASE2, D(2019, 1, 1), status="主动暂停")
    assert derive_history([*base, suspended], as_of=AS_OF)[-1].phase is Phase.PHASE2


def test_future_start_and_not_yet_public_trials_do_not_count() -> None:
    planned = trial("f", Phase.PHASE3, D(2026, 6, 1), posted=D(2024, 12, 1), status="NOT_YET_RECRUITING")
    assert derive_history([planned], as_of=AS_OF) == []
    late_posted = trial("l", Phase.PHASE1, D(2024, 6, 1), posted=D(2025, 3, 1))
    assert derive_history([late_posted], as_of=AS_OF) == []
    [event] = derive_history([late_posted], as_of=D(2025, 6, 1))
    assert (event.date, event.recorded) == (D(2024, 6, 1), D(2025, 3, 1))
    asset = Asset("x", "x", (event,))
    assert asset.as_of(D(2024, 12, 31)) is None  # no look-ahead downstream either


def test_phase4_bioequivalence_and_phaseless_trials_are_ignored() -> None:
    trials = [
        trial("iv", Phase.APPROVED, D(2015, 1, 1)),
        trial("be", None, D(2016, 1, 1), phase_text="BE"),
        trial("na", None, D(2017, 1, 1)),
    ]
    assert derive_history(trials, as_of=AS_OF) == []


def test_per_indication_histories() -> None:
    trials = [
        trial("a", Phase.PHASE2, D(2019, 1, 1), conditions=("Psoriasis",)),
        trial("b", Phase.PHASE3, D(2021, 1, 1), conditions=("psoriasis", "Ankylosing spondylitis")),
        trial("c", Phase.PHASE1, D(2022, 1, 1), conditions=("Lupus nephritis",)),
    ]
    events = derive_history(trials, as_of=AS_OF, per_indication=True)
    by: dict[str, list[tuple[Phase, dt.date]]] = {}
    for e in events:
        by.setdefault(e.indication, []).append((e.phase, e.date))
    assert by == {
        "Ankylosing spondylitis": [
            (Phase.PHASE1, D(2021, 1, 1)),
            (Phase.PHASE2, D(2021, 1, 1)),
            (Phase.PHASE3, D(2021, 1, 1)),
        ],
        "Lupus nephritis": [(Phase.PHASE1, D(2022, 1, 1))],
        "Psoriasis": [
            (Phase.PHASE1, D(2019, 1, 1)),
            (Phase.PHASE2, D(2019, 1, 1)),
            (Phase.PHASE3, D(2021, 1, 1)),
        ],
    }
    assert all(e.indication == "" for e in derive_history(trials, as_of=AS_OF))


def test_region_by_sponsor_sites_and_known_local_orgs() -> None:
    by_name = trial("a", None, sponsor="重庆智翔金泰生物制药股份有限公司")
    by_site = trial("b", None, sponsor="苏州信诺维医药科技股份有限公司", cities=("北京市", "重庆市"))
    by_state = trial("c", None, sponsor="X", states=("Chongqing",))
    by_org = trial("d", None, sponsor="Genrix Bio")
    elsewhere = trial("e", None, sponsor="Sichuan Baili Pharmaceutical Co., Ltd.", cities=("Chengdu",))
    assert in_region(by_name)
    assert in_region(by_site)
    assert in_region(by_state)
    assert not in_region(by_site, sites=False)  # a site is not the drug's home
    assert not in_region(by_org)
    assert in_region(by_org, local_orgs=chongqing_table().aliases_of("org:genrix"))
    assert not in_region(elsewhere)
    assert region_reasons(by_site) == ("site city '重庆市'",)
    assert in_region(elsewhere, "四川|Sichuan|Chengdu")


def test_real_ctr_record_gives_gr1501_its_phase2_entry() -> None:
    result = read_ctr(
        REGISTRY / "ctr" / "trial_info_sample.csv",
        sites=REGISTRY / "ctr" / "trial_site_info_sample.csv",
        today=D(2024, 1, 1),
    )
    table = chongqing_table()
    gr1501 = [t for t in result.records if any(resolve(n, table) == "genrix-gr1501" for n in t.drug_names)]
    assert [t.trial_id for t in gr1501] == ["CTR20230354"]
    assert in_region(gr1501[0], sites=False)  # sponsor 重庆智翔金泰…; none of its 8 sites is in Chongqing
    events = derive_history(gr1501, as_of=D(2024, 1, 1), per_indication=True)
    assert as_pairs(events) == [(Phase.PHASE1, D(2023, 2, 8)), (Phase.PHASE2, D(2023, 2, 8))]
    assert {e.indication for e in events} == {"狼疮性肾炎"}


def test_split_list() -> None:
    assert split_list("北京市；上海市,北京市、 重庆市/ ") == ("北京市", "上海市", "重庆市")


def test_keeping_the_earliest_trial_per_phase_gives_the_same_history() -> None:
    """The streaming importer keeps per candidate at most one trial per phase (`keep_earliest`); over random
    trial sets, the history from those equals the history from every trial (brute force)."""
    import random

    from pipecast.ingest.trials import counts_on, keep_earliest

    rng = random.Random(11)
    phases = [Phase.PHASE1, Phase.PHASE2, Phase.PHASE3, Phase.APPROVED, None]
    statuses = ["COMPLETED", "RECRUITING", "TERMINATED", "SUSPENDED"]
    for case in range(300):
        trials = []
        for i in range(rng.randint(1, 12)):
            start = D(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 4000)) if rng.random() < 0.7 else None
            posted = D(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 4000)) if rng.random() < 0.8 else None
            trials.append(trial(f"T{case}-{rng.randint(0, 5)}-{i}", rng.choice(phases), start, posted,
                                rng.choice(statuses)))
        earliest: dict[Phase, TrialRecord] = {}
        for t in trials:
            if counts_on(t, AS_OF):
                keep_earliest(earliest, t)
        kept = list(dict.fromkeys(earliest.values()))
        assert len(kept) <= 3
        assert derive_history(kept, as_of=AS_OF) == derive_history(trials, as_of=AS_OF), case
