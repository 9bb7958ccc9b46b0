"""Monte Carlo of the exact engine's model, with the correlations the exact engine cannot express.

One uniform per candidate-path (docs: "Monte Carlo with one draw per candidate-path"): with q_i the
probability of approval and F_i the approval-time CDF given approval, the candidate is approved iff
u < q_i, at time F_i^-1(u / q_i). Every figure we report is per calendar year, so the inversion only
needs F_i at year boundaries: the table for candidate i is the cumulative sum of the exact engine's
year probabilities, and the approval year is the first b with u < C_i[b]. A cohort of n identical
candidates draws its per-year counts as one multinomial per path, so its cost does not grow with n.

Modules:
    correlation  Correlation (copula rho per group kind, review-pace shock, sponsor stops), GROUP_KINDS
    entrants     Entrants (funding programmes) and their exact expected approvals per year
    plan         Plan (threshold tables, groups, cohorts) and build_plan
    streams      counter-based random numbers per block (Philox), Draws, cohort multinomials
    tallies      integer tallies per chunk (Tallies, Histogram) and the numpy tally kernel
    result       MonteCarloForecast with its standard errors
    run          simulate()

Correlation (all optional):
- one-factor Gaussian copula per group kind: x = sum_k sqrt(rho_k) Z_{k, group_k(i)} + sqrt(1 - sum
  rho_k) eps, u = Phi(x); it moves success and timing together and keeps every marginal.
- a regulatory-speed shock: a per-path multiplier M of the filed stage's duration, lognormal with
  median 1 and the given sigma, discretised into `review_levels` equiprobable levels.
- sponsor discontinuation: per path and sponsor, with probability q all of that sponsor's candidates
  stop (approvals already on record stand).
"""

from pipecast.engines.montecarlo.correlation import GROUP_KINDS, Correlation
from pipecast.engines.montecarlo.entrants import Entrants, entrant_year_means
from pipecast.engines.montecarlo.plan import BLOCK_PATHS, REFERENCE_ENGINE, Plan, PlanMeta, build_plan
from pipecast.engines.montecarlo.result import MonteCarloForecast, TargetTallies
from pipecast.engines.montecarlo.run import DEFAULT_CHUNK_PATHS, simulate
from pipecast.engines.montecarlo.streams import Draws, draw_block
from pipecast.engines.montecarlo.tallies import Histogram, Tallies, finish_hits, merge_tallies, run_blocks

__all__ = [
    "BLOCK_PATHS",
    "DEFAULT_CHUNK_PATHS",
    "GROUP_KINDS",
    "REFERENCE_ENGINE",
    "Correlation",
    "Draws",
    "Entrants",
    "Histogram",
    "MonteCarloForecast",
    "Plan",
    "PlanMeta",
    "Tallies",
    "TargetTallies",
    "build_plan",
    "draw_block",
    "entrant_year_means",
    "finish_hits",
    "merge_tallies",
    "run_blocks",
    "simulate",
]
