"""Candidate economics: the numbers an rNPV rests on, each with its source.

An economics table is a list of rows, like a rate set: a row may be general, or specific to a therapeutic
area class (`oncology`) and/or a modality class (`biologic`, `small molecule`); the most specific row
that matches a candidate wins. `Economics` is the resolved set for one candidate, which a deal or a user
may override key by key.

Money is in millions of `currency` (the bundled defaults: USD million, see `value/data/economics.csv`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from pipecast.errors import InputError

#: z such that Phi(z) = 0.9.
Z90 = 1.2815515655446004

#: Every parameter an economics table must give, with what it means (unit in the name where it matters).
PARAMETERS: dict[str, str] = {
    "discount_rate": "annual discount rate (a fraction, e.g. 0.105)",
    "cost_preclinical": "R&D cost of the preclinical stage, millions",
    "cost_phase1": "R&D cost of phase 1, millions",
    "cost_phase2": "R&D cost of phase 2, millions",
    "cost_phase3": "R&D cost of phase 3, millions",
    "cost_filed": "cost of the review stage, millions",
    "peak_sales_median": "median annual peak net sales, millions",
    "peak_sales_p90": "90th percentile of annual peak net sales, millions (equal to the median: no spread)",
    "years_to_peak": "years from launch to peak sales",
    "loe_years": "years from approval to loss of exclusivity",
    "loe_erosion": "share of sales lost after loss of exclusivity (a fraction)",
    "post_loe_years": "years of eroded sales counted after loss of exclusivity",
    "cogs": "cost of goods, share of net sales",
    "selling_expense": "selling and distribution expense, share of net sales",
    "tax_rate": "income tax on positive operating profit (a fraction)",
    "usd_cny": "CNY per USD, to convert the defaults to CNY",
}

#: Share of peak sales in launch years 1..6 (the sourced median launch curve; scaled to years_to_peak).
LAUNCH_CURVE = (0.11, 0.31, 0.58, 0.76, 0.89, 1.00)

#: Currencies the defaults convert to (through usd_cny).
CURRENCIES = ("USD", "CNY")

_FRACTIONS = {"cogs", "selling_expense", "tax_rate", "loe_erosion"}


@dataclass(frozen=True, slots=True)
class EconomicsRow:
    """One sourced number: a parameter's value for an area class and modality class ("" = any)."""

    parameter: str
    value: float
    therapeutic_area: str = ""
    modality: str = ""
    unit: str = ""
    source: str = ""
    source_url: str = ""
    published: str = ""
    note: str = ""

    @property
    def specificity(self) -> int:
        return (2 if self.therapeutic_area else 0) + (1 if self.modality else 0)


def area_class(therapeutic_area: str) -> str:
    """The economics area class of a candidate's therapeutic area: `oncology` or "" (any)."""
    return "oncology" if "oncolog" in therapeutic_area.casefold() else ""


def modality_class(modality: str) -> str:
    """`biologic`, `small molecule` or "" (unknown) from a modality text such as 'bispecific antibody'."""
    text = modality.casefold()
    if any(word in text for word in ("small molecule", "chemical", "nce")):
        return "small molecule"
    if any(
        word in text
        for word in ("antibod", "mab", "car-t", "cell", "vaccine", "protein", "biolog", "adc", "peptide", "gene")
    ):
        return "biologic"
    return ""


@dataclass(frozen=True)
class Economics:
    """The resolved economics of one candidate (millions of `currency`), with where each number came from."""

    values: Mapping[str, float]
    currency: str = "USD"
    sources: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    @property
    def discount_rate(self) -> float:
        return self.values["discount_rate"]

    def phase_cost(self, phase_value: str) -> float:
        return self.values.get(f"cost_{phase_value}", 0.0)

    @property
    def peak_sigma(self) -> float:
        median, p90 = self.values["peak_sales_median"], self.values["peak_sales_p90"]
        if median <= 0 or p90 <= median:
            return 0.0
        return (math.log(p90) - math.log(median)) / Z90

    @property
    def peak_mean(self) -> float:
        return self.values["peak_sales_median"] * math.exp(self.peak_sigma**2 / 2)

    @property
    def operating_margin(self) -> float:
        """Share of net sales left after cost of goods, selling expense and tax (tax only on a profit)."""
        gross = 1.0 - self.values["cogs"] - self.values["selling_expense"]
        return gross * (1.0 - self.values["tax_rate"]) if gross > 0 else gross

    def sales_profile(self) -> list[float]:
        """Net sales in launch years 1, 2, ... as shares of peak: uptake, plateau, loss of exclusivity, tail."""
        years_to_peak = max(self.values["years_to_peak"], 1e-9)
        loe = self.values["loe_years"]
        tail = round(self.values["post_loe_years"])
        erosion = self.values["loe_erosion"]
        profile: list[float] = []
        years_before_loe = max(math.ceil(loe - 1e-9), 0)
        curve_x = [0.0, *[i + 1.0 for i in range(len(LAUNCH_CURVE))]]
        curve_y = [0.0, *LAUNCH_CURVE]
        share = 0.0
        for n in range(1, years_before_loe + 1):
            stretched = n * len(LAUNCH_CURVE) / years_to_peak
            share = _interp(stretched, curve_x, curve_y)
            fraction_exclusive = min(1.0, loe - (n - 1))  # the year LOE falls in is part-exclusive
            profile.append(share * (fraction_exclusive + (1 - fraction_exclusive) * (1 - erosion)))
        profile.extend(share * (1 - erosion) for _ in range(tail))
        return profile

    def with_overrides(self, overrides: Mapping[str, float], source: str) -> Economics:
        values = dict(self.values)
        sources = dict(self.sources)
        for key, value in overrides.items():
            values[key] = value
            sources[key] = source
        return replace(self, values=values, sources=sources)

    def converted(self, currency: str) -> Economics:
        """The same economics with money in `currency` (USD <-> CNY through usd_cny)."""
        target = normalise_currency(currency)
        if target == self.currency:
            return self
        rate = self.values["usd_cny"]
        if (self.currency, target) == ("USD", "CNY"):
            factor = rate
        elif (self.currency, target) == ("CNY", "USD"):
            factor = 1 / rate
        else:
            raise InputError(
                f"no exchange rate from {self.currency} to {currency}", field="currency", expected="USD or CNY"
            )
        money = {k for k in PARAMETERS if k.startswith(("cost_", "peak_sales"))}
        values = {k: (v * factor if k in money else v) for k, v in self.values.items()}
        return replace(self, values=values, currency=target)


def normalise_currency(text: str) -> str:
    upper = text.strip().upper()
    return "CNY" if upper in ("RMB", "CNY", "YUAN") else upper


def _interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    if x >= xs[-1]:
        return ys[-1]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            t = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
            return ys[i - 1] + t * (ys[i] - ys[i - 1])
    return ys[-1]


@dataclass(frozen=True)
class EconomicsTable:
    """Validated sourced rows; `for_candidate` resolves one candidate's economics."""

    rows: tuple[EconomicsRow, ...]
    currency: str = "USD"
    origin: str = ""

    def __post_init__(self) -> None:
        general = {r.parameter for r in self.rows if not r.therapeutic_area and not r.modality}
        missing = [p for p in PARAMETERS if p not in general]
        if missing:
            raise InputError(
                f"economics table has no general row for {', '.join(missing)}",
                file=self.origin,
                expected="one row without therapeutic_area and modality for each of " + ", ".join(PARAMETERS),
            )
        for row in self.rows:
            check_parameter(row.parameter, row.value, self.origin)

    def for_candidate(self, therapeutic_area: str = "", modality: str = "") -> Economics:
        area, mod = area_class(therapeutic_area), modality_class(modality)
        values: dict[str, float] = {}
        sources: dict[str, str] = {}
        for parameter in PARAMETERS:
            best: EconomicsRow | None = None
            for row in self.rows:
                if row.parameter != parameter:
                    continue
                if row.therapeutic_area not in ("", area) or row.modality not in ("", mod):
                    continue
                if best is None or row.specificity > best.specificity:
                    best = row
            assert best is not None  # every parameter has a general row (checked above)
            values[parameter] = best.value
            sources[parameter] = f"{best.source} {best.source_url}".strip()
        return Economics(values, self.currency, sources)


def check_parameter(parameter: str, value: float, origin: str, where: str = "") -> None:
    """A one-line error unless `value` is a plausible value of `parameter`."""
    key = where or parameter
    if parameter not in PARAMETERS:
        raise InputError(f"unknown economics key {key!r}", file=origin, expected="one of " + ", ".join(PARAMETERS))
    if not math.isfinite(value):
        raise InputError(f"key {key}: {value} is not a number", file=origin, expected=PARAMETERS[parameter])
    if parameter == "discount_rate":
        check_discount_rate(value, origin, key)
    elif parameter in _FRACTIONS and not 0 <= value <= 1:
        raise InputError(f"key {key}: {value:g} is out of range", file=origin, expected="a fraction from 0 to 1")
    elif value < 0:
        raise InputError(f"key {key}: {value:g} is negative", file=origin, expected=PARAMETERS[parameter])


def check_discount_rate(value: float, origin: str, key: str = "discount_rate") -> None:
    if not -0.5 < value < 1:
        raise InputError(
            f"key {key}: {value:g} is outside (-0.5, 1)",
            file=origin,
            expected="an annual rate such as 0.10, greater than -0.5 and less than 1",
        )
