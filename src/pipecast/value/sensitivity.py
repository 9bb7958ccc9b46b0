"""Which inputs move a candidate's rNPV most (a tornado), and the peak sales at which it breaks even.

Each input is moved down and up by `swing` (20 % by default; probabilities and shares capped at 1), one at
a time, the others held; the inputs are listed by the size of the rNPV range they cause. rNPV is linear in
the expected peak, so the break-even peak is development / (commercial value per unit of expected peak).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pipecast.domain import Asset, Phase
from pipecast.rates import RateSet
from pipecast.value.economics import Economics
from pipecast.value.rnpv import value_candidate
from pipecast.value.timing import candidate_timeline

_MONEY_GROUPS: dict[str, tuple[str, ...]] = {
    "peak sales": ("peak_sales_median", "peak_sales_p90"),
    "development costs": ("cost_preclinical", "cost_phase1", "cost_phase2", "cost_phase3", "cost_filed"),
    "discount rate": ("discount_rate",),
    "cost of goods": ("cogs",),
    "selling expense": ("selling_expense",),
    "tax rate": ("tax_rate",),
    "years to loss of exclusivity": ("loe_years",),
    "years to peak": ("years_to_peak",),
}
_CAPPED = {"cogs", "selling_expense", "tax_rate"}


@dataclass(frozen=True, slots=True)
class Swing:
    input: str
    low: float  # rNPV with the input moved down
    high: float  # rNPV with the input moved up

    @property
    def width(self) -> float:
        return abs(self.high - self.low)

    def as_dict(self) -> dict[str, float | str]:
        return {"input": self.input, "rnpv_low": self.low, "rnpv_high": self.high, "width": self.width}


def _scaled_economics(economics: Economics, keys: tuple[str, ...], factor: float) -> Economics:
    changes = {}
    for key in keys:
        value = economics[key] * factor
        changes[key] = min(value, 0.999) if key in _CAPPED else value
    return economics.with_overrides(changes, f"sensitivity x{factor:g}")


def _scaled_success(rates: RateSet, factor: float) -> RateSet:
    rows = tuple(replace(row, p_success=min(row.p_success * factor, 1.0)) for row in rates.rows)
    return RateSet(f"{rates.name} (success x{factor:g})", rows, rates.origin)


def _scaled_durations(rates: RateSet, factor: float) -> RateSet:
    phases = {row.phase: factor for row in rates.rows}
    return rates.adjusted(duration_multiplier=phases, name=f"{rates.name} (durations x{factor:g})")


def tornado(asset: Asset, rates: RateSet, economics: Economics, as_of: dt.date, swing: float = 0.2) -> list[Swing]:
    """rNPV with each input moved by -swing and +swing, widest range first."""
    down, up = 1 - swing, 1 + swing
    timeline = candidate_timeline(asset, rates, as_of)  # the economics do not move the timing: computed once

    def rnpv(r: RateSet, e: Economics) -> float:
        return value_candidate(asset, r, e, as_of, timeline if r is rates else None).rnpv

    out = [
        Swing(
            name,
            rnpv(rates, _scaled_economics(economics, keys, down)),
            rnpv(rates, _scaled_economics(economics, keys, up)),
        )
        for name, keys in _MONEY_GROUPS.items()
    ]
    if asset.phase.is_active:
        out.append(
            Swing(
                "phase success probabilities",
                rnpv(_scaled_success(rates, down), economics),
                rnpv(_scaled_success(rates, up), economics),
            )
        )
        out.append(
            Swing(
                "phase durations",
                rnpv(_scaled_durations(rates, down), economics),
                rnpv(_scaled_durations(rates, up), economics),
            )
        )
    return sorted(out, key=lambda s: s.width, reverse=True)


def pipeline_tornado(
    assets: Sequence[Asset],
    rates: RateSet,
    economics_for: Callable[[Asset], Economics],
    as_of: dt.date,
    swing: float = 0.2,
) -> tuple[float, list[Swing]]:
    """(the pipeline's rNPV, its tornado): each input moved by -swing and +swing for every candidate at once.

    The pipeline's rNPV is the sum of its candidates' (cohorts counted by their copies), so each swing's rNPV is
    the sum of the candidates' swung values; a candidate the input does not move (the phase inputs of one
    no longer in development) adds its unchanged value."""
    base = 0.0
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    for asset in assets:
        economics = economics_for(asset)
        moved = {s.input: s for s in tornado(asset, rates, economics, as_of, swing)}
        value = value_candidate(asset, rates, economics, as_of).rnpv
        base += value * asset.count
        for name in (*_MONEY_GROUPS, "phase success probabilities", "phase durations"):
            one = moved.get(name, Swing(name, value, value))
            low[name] = low.get(name, 0.0) + one.low * asset.count
            high[name] = high.get(name, 0.0) + one.high * asset.count
    swings = [Swing(name, low[name], high[name]) for name in low]
    return base, sorted(swings, key=lambda s: s.width, reverse=True)


def break_even_peak_sales(asset: Asset, rates: RateSet, economics: Economics, as_of: dt.date) -> float | None:
    """The median peak sales (same spread) at which rNPV is 0; None if sales add nothing (never approved)."""
    value = value_candidate(asset, rates, economics, as_of)
    if value.commercial_pv <= 0 or asset.phase in (Phase.DISCONTINUED, Phase.SUSPENDED):
        return None
    per_unit_mean = value.commercial_pv / economics.peak_mean
    mean = value.development_pv / per_unit_mean
    return mean / math.exp(economics.peak_sigma**2 / 2)
