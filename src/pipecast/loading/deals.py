"""DEAL.yaml and PROGRAMME.yaml into the pure `pipecast.value` objects (safe YAML with a budget).

Every mistake is one line naming the file, the key and what was expected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipecast.domain import parse_phase
from pipecast.errors import InputError, UnknownPhaseError
from pipecast.loading.yaml_safe import load_yaml
from pipecast.value.deals import Deal, Milestone
from pipecast.value.economics import PARAMETERS, check_parameter
from pipecast.value.programme import Programme, Reward, StageSupport
from pipecast.value.sales import RoyaltyTier

if TYPE_CHECKING:
    from pipecast.store.money import DealRecord

DEAL_FORM = "a deal mapping: candidate, currency, date, upfront, milestones, royalties, discount_rate"
PROGRAMME_FORM = "a programme mapping: name, currency, valid_from, valid_until, rd_support, rewards"
DEAL_KEYS = {
    "candidate",
    "licensee",
    "date",
    "currency",
    "upfront",
    "milestones",
    "royalties",
    "discount_rate",
    "economics",
    "source",
    "sources",
    "note",
    "notes",
    "assumptions",
    "name",
    "key",
    "licensor",
}
PROGRAMME_KEYS = {
    "name",
    "currency",
    "issued",
    "valid_from",
    "valid_until",
    "rd_support",
    "rewards",
    "discount_rate",
    "source",
    "sources",
    "note",
    "notes",
    "assumptions",
    "eligible",
    "outcomes",
}
OUTCOMES_FORM = "{revenue_per_approval: 300, jobs_per_approval: 150} (annual net sales in millions; jobs)"


class _Keys:
    """Typed access to a mapping's keys, with errors naming the file and the key path."""

    def __init__(self, data: Mapping[str, Any], file: str, prefix: str = "") -> None:
        self.data, self.file, self.prefix = data, file, prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def error(self, name: str, message: str, expected: str) -> InputError:
        return InputError(f"key {self.key(name)}: {message}", file=self.file, expected=expected)

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def text(self, name: str, expected: str, *, required: bool = True) -> str:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.error(name, "missing", expected)
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.error(name, f"{type(value).__name__} is not text", expected)
        return str(value).strip()

    def number(self, name: str, expected: str, *, default: float | None = None) -> float:
        value = self.data.get(name)
        if value is None:
            if default is None:
                raise self.error(name, "missing", expected)
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(name, f"{value!r} is not a number", expected)
        number = float(value)
        if not math.isfinite(number):
            raise self.error(name, f"{value!r} is not a finite number", expected)
        return number

    def date(
        self, name: str, expected: str = "an ISO date such as 2025-06-04", *, required: bool = True
    ) -> dt.date | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.error(name, "missing", expected)
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise self.error(name, f"{value!r} is not a date", expected) from None

    def items(self, name: str, expected: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(name, f"{type(value).__name__} is not a list", expected)
        return value

    def mapping(self, name: str, expected: str) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(name, f"{type(value).__name__} is not a mapping", expected)
        return value

    def sub(self, name: str, value: Any, expected: str) -> _Keys:
        if not isinstance(value, dict):
            raise InputError(
                f"key {self.key(name)}: {type(value).__name__} is not a mapping", file=self.file, expected=expected
            )
        return _Keys(value, self.file, f"{self.key(name)}.")


def _top(path: Path, what: str, allowed: set[str]) -> _Keys:
    data = load_yaml(path, what=what)
    if not isinstance(data, dict):
        raise InputError("the file does not hold a mapping", file=str(path), expected=what)
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise InputError(
            f"unknown key {unknown[0]}", file=str(path), expected="keys among " + ", ".join(sorted(allowed))
        )
    return _Keys(data, str(path))


MILESTONE_FORM = (
    "{event: phase3, amount: 50}, {event: approved, amount: 100} or {event: sales, above: 500, amount: 100}"
)


def _milestone(keys: _Keys, index: int, item: Any) -> Milestone:
    entry = keys.sub(f"milestones[{index}]", item, MILESTONE_FORM)
    event = entry.text("event", "a phase name, approved, or sales")
    amount = entry.number("amount", "an amount in millions, 0 or more")
    if event.strip().lower() == "sales":
        return Milestone("sales", amount, entry.number("above", "the annual net sales to exceed, in millions"))
    try:
        phase = parse_phase(event)
    except UnknownPhaseError:
        raise entry.error(
            "event", f"unknown event {event!r}", "a phase name (phase1, phase2, phase3, filed), approved, or sales"
        ) from None
    return Milestone(phase.value, amount)


def economics_overrides(keys: _Keys, name: str = "economics") -> dict[str, float]:
    """Economics keys (see pipecast.value.economics.PARAMETERS); `peak_sales` is a number or {median, p90}."""
    raw = keys.mapping(name, "a mapping of economics keys to numbers")
    section = _Keys(raw, keys.file, f"{keys.key(name)}.")
    out: dict[str, float] = {}
    for key, value in raw.items():
        if key == "peak_sales":
            if isinstance(value, dict):
                peak = section.sub("peak_sales", value, "{median: 300, p90: 1200}")
                median = peak.number("median", "median annual peak net sales, millions")
                p90 = peak.number("p90", "90th percentile of annual peak net sales", default=median)
                if median <= 0 or p90 < median:
                    raise peak.error(
                        "p90", f"{p90:g} is below the median {median:g}", "a positive median and p90 >= median"
                    )
                out["peak_sales_median"], out["peak_sales_p90"] = median, p90
            else:
                median = section.number("peak_sales", "annual peak net sales in millions, or {median, p90}")
                check_parameter("peak_sales_median", median, keys.file, section.key("peak_sales"))
                out["peak_sales_median"] = out["peak_sales_p90"] = median
            continue
        if key not in PARAMETERS:
            raise section.error(str(key), "unknown economics key", "one of peak_sales, " + ", ".join(PARAMETERS))
        number = section.number(str(key), PARAMETERS[key])
        check_parameter(str(key), number, keys.file, section.key(str(key)))
        out[str(key)] = number
    return out


def load_deal(path: str | Path) -> Deal:
    """DEAL.yaml (amounts in millions of `currency`), see docs/value.md."""
    return _deal(_top(Path(path), DEAL_FORM, DEAL_KEYS))


def deal_from_terms(terms: Mapping[str, Any], origin: str) -> Deal:
    """A deal from the `terms` recorded in the store (the JSON of a DEAL.yaml), checked as a file would be."""
    unknown = sorted(str(k) for k in terms if k not in DEAL_KEYS)
    if unknown:
        raise InputError(
            f"unknown key {unknown[0]}", file=origin, expected="keys among " + ", ".join(sorted(DEAL_KEYS))
        )
    return _deal(_Keys(dict(terms), origin))


def _deal(keys: _Keys) -> Deal:
    tiers: list[RoyaltyTier] = []
    for i, item in enumerate(keys.items("royalties", "a list of {above, rate}")):
        tier = keys.sub(f"royalties[{i}]", item, "{above: 0, rate: 0.05}")
        tiers.append(
            RoyaltyTier(tier.number("above", "annual net sales in millions"), tier.number("rate", "a rate from 0 to 1"))
        )
    milestones = [_milestone(keys, i, item) for i, item in enumerate(keys.items("milestones", MILESTONE_FORM))]
    date = keys.date("date")
    assert date is not None
    return Deal(
        candidate=keys.text("candidate", "the id of a candidate in the assets file or the store"),
        currency=keys.text("currency", "a currency code such as USD or CNY (amounts are in millions)"),
        date=date,
        upfront=keys.number("upfront", "an amount in millions", default=0.0),
        milestones=tuple(milestones),
        royalties=tuple(tiers),
        licensee=keys.text("licensee", "the licensee's name", required=False),
        discount_rate=keys.number("discount_rate", "an annual rate") if keys.has("discount_rate") else None,
        economics=economics_overrides(keys),
        origin=keys.file,
    )


SOURCE_FORM = "source: {title: ..., url: https://..., date: 2025-06-04} (where the terms were published)"
TERM_KEYS = ("candidate", "licensee", "date", "currency", "upfront", "milestones", "royalties", "discount_rate",
             "economics")


def deal_record(path: str | Path) -> DealRecord:
    """A DEAL.yaml as a row for the store: its terms kept as JSON, its totals and its source.

    Needs `source: {title, url, date}`; `key` (default candidate-licensee-date) and `licensor` are optional."""
    import json

    from pipecast.store.money import DealRecord

    keys = _top(Path(path), DEAL_FORM, DEAL_KEYS)
    deal = _deal(keys)
    if not isinstance(keys.data.get("source"), dict):
        raise keys.error("source", "missing (a mapping is needed to record the deal)", SOURCE_FORM)
    source = keys.sub("source", keys.data["source"], SOURCE_FORM)
    published = source.date("date", "the date the source was published, e.g. 2025-06-04")
    terms = {k: keys.data[k] for k in TERM_KEYS if keys.data.get(k) is not None}
    slug = "-".join(deal.licensee.casefold().split()) or "licensee"
    development = sum(m.amount for m in deal.milestones if m.event != "sales")
    sales = sum(m.amount for m in deal.milestones if m.event == "sales")
    return DealRecord(
        key=keys.text("key", "a unique key", required=False) or f"{deal.candidate}-{slug}-{deal.date}",
        licensor=keys.text("licensor", "the licensor's name", required=False),
        licensee=deal.licensee,
        currency=deal.currency,
        date_text=deal.date.isoformat(),
        source_title=source.text("title", "the source's title"),
        source_url=source.text("url", "the source's URL"),
        candidate=deal.candidate,
        date=deal.date,
        upfront=deal.upfront,
        development_milestones=development,
        sales_milestones=sales,
        headline=deal.headline,
        royalties=", ".join(f"{t.rate:g} above {t.above:g}" for t in deal.royalties),
        terms=json.dumps(terms, default=str, ensure_ascii=False, sort_keys=True),
        source_date=published,
    )


STAGE_FORM = "{share: 0.2, paid_on: completion, caps: {preclinical: 2, phase1: 2, phase2: 3, phase3: 10}}"


def load_programme(path: str | Path) -> Programme:
    """PROGRAMME.yaml: a support programme's stage subsidies and rewards (millions of `currency`)."""
    return _programme(_top(Path(path), PROGRAMME_FORM, PROGRAMME_KEYS), str(path))


def programme_from_mapping(data: Mapping[str, Any], origin: str) -> Programme:
    """A programme from a mapping with PROGRAMME.yaml's keys (e.g. an API request body), checked the same way."""
    unknown = sorted(str(k) for k in data if k not in PROGRAMME_KEYS)
    if unknown:
        raise InputError(
            f"unknown key {unknown[0]}", file=origin, expected="keys among " + ", ".join(sorted(PROGRAMME_KEYS))
        )
    return _programme(_Keys(dict(data), origin), origin)


def _programme(keys: _Keys, path: str) -> Programme:
    support = keys.mapping("rd_support", STAGE_FORM)
    stages = _Keys(support, keys.file, "rd_support.")
    caps_raw = stages.mapping("caps", "a mapping of stage to cap in millions")
    caps_keys = _Keys(caps_raw, keys.file, "rd_support.caps.")
    caps: dict[str, float] = {}
    for stage in caps_raw:
        try:
            phase = parse_phase(str(stage))
        except UnknownPhaseError:
            raise caps_keys.error(str(stage), "unknown stage", "preclinical, phase1, phase2 or phase3") from None
        caps[phase.value] = caps_keys.number(str(stage), "a cap in millions")
    rewards: list[Reward] = []
    for i, item in enumerate(keys.items("rewards", "a list of {event: approved, amount: 10}")):
        reward = keys.sub(f"rewards[{i}]", item, "{event: approved, amount: 10}")
        event = reward.text("event", "approved or a phase name")
        try:
            phase = parse_phase(event)
        except UnknownPhaseError:
            raise reward.error("event", f"unknown event {event!r}", "approved or a phase name") from None
        rewards.append(Reward(phase.value, reward.number("amount", "an amount in millions")))
    valid_from, valid_until = keys.date("valid_from"), keys.date("valid_until")
    assert valid_from is not None
    assert valid_until is not None
    outcomes = _Keys(keys.mapping("outcomes", OUTCOMES_FORM), keys.file, "outcomes.")
    unknown = sorted(str(k) for k in outcomes.data if k not in ("revenue_per_approval", "jobs_per_approval"))
    if unknown:
        raise outcomes.error(unknown[0], "unknown key", OUTCOMES_FORM)
    revenue = outcomes.number("revenue_per_approval", OUTCOMES_FORM) if outcomes.has("revenue_per_approval") else None
    jobs = outcomes.number("jobs_per_approval", OUTCOMES_FORM) if outcomes.has("jobs_per_approval") else None
    return Programme(
        name=keys.text("name", "the programme's name"),
        currency=keys.text("currency", "a currency code such as CNY (amounts are in millions)"),
        valid_from=valid_from,
        valid_until=valid_until,
        stage_support=StageSupport(
            share=stages.number("share", "a share of R&D cost from 0 to 1", default=0.0),
            caps=caps,
            cumulative_cap=stages.number("cumulative_cap", "a cap in millions", default=math.inf),
            paid_on=stages.text("paid_on", "completion or entry", required=False) or "completion",
        ),
        rewards=tuple(rewards),
        discount_rate=keys.number("discount_rate", "an annual rate", default=0.0),
        revenue_per_approval=revenue,
        jobs_per_approval=jobs,
        origin=path,
    )


__all__ = [
    "BUNDLED_DEALS",
    "BUNDLED_PROGRAMMES",
    "bundled_deal_path",
    "bundled_programme_path",
    "deal_from_terms",
    "deal_record",
    "economics_overrides",
    "load_deal",
    "load_programme",
    "programme_from_mapping",
]


#: Support programmes shipped with pipecast: name -> file in pipecast/value/data.
BUNDLED_PROGRAMMES = {"chongqing-2025": "chongqing-2025.yaml"}
#: Deal terms shipped with pipecast (sourced totals; the split by event assumed, as each file says).
BUNDLED_DEALS = {"gr1803": "gr1803.yaml"}


@contextlib.contextmanager
def _bundled(value: str, names: Mapping[str, str]) -> Iterator[Path]:
    if value not in names:
        yield Path(value)
        return
    ref = resources.files("pipecast.value") / "data" / names[value]
    with resources.as_file(ref) as path:
        yield path


@contextlib.contextmanager
def bundled_programme_path(value: str) -> Iterator[Path]:
    """The path of a bundled programme by name (`chongqing-2025`), or `value` as a path."""
    with _bundled(value, BUNDLED_PROGRAMMES) as path:
        yield path


@contextlib.contextmanager
def bundled_deal_path(value: str) -> Iterator[Path]:
    """The path of a bundled deal by name (`gr1803`), or `value` as a path."""
    with _bundled(value, BUNDLED_DEALS) as path:
        yield path
