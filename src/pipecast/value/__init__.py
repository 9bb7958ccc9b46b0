"""Value and money (pure): candidate rNPV, licensing deals and public support programmes.

pipecast.value.economics   sourced economics tables, resolved per candidate
pipecast.value.timing      phase-entry and approval timing from the forecast's rate model
pipecast.value.rnpv        analytic rNPV of a candidate (development costs, sales)
pipecast.value.montecarlo  the rNPV's distribution (P10/P50/P90) by seeded simulation
pipecast.value.deals       a deal's payments, headline and risk-adjusted values
pipecast.value.programme   a support programme's expected outlay and cost per expected approval
"""

from pipecast.value.deals import Deal, DealValue, Milestone, Payment, value_deal
from pipecast.value.economics import Economics, EconomicsRow, EconomicsTable
from pipecast.value.rnpv import CandidateValue, value_candidate
from pipecast.value.sales import PeakSales, RoyaltyTier
from pipecast.value.timing import EventTiming, Timeline, candidate_timeline

__all__ = [
    "CandidateValue",
    "Deal",
    "DealValue",
    "Economics",
    "EconomicsRow",
    "EconomicsTable",
    "EventTiming",
    "Milestone",
    "Payment",
    "PeakSales",
    "RoyaltyTier",
    "Timeline",
    "candidate_timeline",
    "value_candidate",
    "value_deal",
]
