"""A plan as a first-class object (pure core): KPI targets with their actuals, forecasts and verdicts, the
cumulative-target probability, regions with parents, and hubs side by side from their published counts.

Files are read by `pipecast.loading.plan` and `pipecast.loading.hubs`; nothing here does I/O.
"""

from pipecast.plan.cumulative import CumulativeOutlook, cumulative_outlook, outlook_from_probabilities
from pipecast.plan.hubs import HubComparison, HubFigure, compare_hubs, hub_pipeline, split_clinic
from pipecast.plan.kpi import METRIC_UNITS, Citation, KpiFigure, KpiTarget
from pipecast.plan.regions import Region, RegionTree, candidates_in
from pipecast.plan.verdict import ON_TRACK, KpiStatus, evaluate

__all__ = [
    "METRIC_UNITS",
    "ON_TRACK",
    "Citation",
    "CumulativeOutlook",
    "HubComparison",
    "HubFigure",
    "KpiFigure",
    "KpiStatus",
    "KpiTarget",
    "Region",
    "RegionTree",
    "candidates_in",
    "compare_hubs",
    "cumulative_outlook",
    "evaluate",
    "hub_pipeline",
    "outlook_from_probabilities",
    "split_clinic",
]
