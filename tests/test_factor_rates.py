"""Rate sets with a shared review-pace factor: exact mixture over quadrature nodes vs the Monte Carlo engine.

A rate file's `factor_sigma` column (filed rows) makes every candidate's filed-stage duration share one
lognormal multiplier (median 1). The exact engine conditions on it at 16 Gauss-Hermite nodes and mixes the
Poisson-binomials (and, for a target, the joint DP per node); the Monte Carlo engine draws the multiplier
per path. Both must agree within the simulation's noise, and a plain rate file must still mean independence.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import pipecast
from pipecast.errors import InputError
from pipecast.loading.rates import load_rate_set
from pipecast.targets import parse_target

ROOT = Path(__file__).resolve().parents[1]
GLOBAL = ROOT / "src" / "pipecast" / "rates" / "data" / "global.csv"
ASSETS = ROOT / "examples" / "assets.csv"
TARGET = "2025-2026:1-1"
SIGMA = 0.6


def _with_factor(tmp_path: Path, sigma: float | str, phase: str = "filed") -> Path:
    lines = GLOBAL.read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",factor_sigma"]
    out += [line + (f",{sigma}" if line.startswith(phase + ",") else ",") for line in lines[1:]]
    path = tmp_path / "factor.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _run(rates: Path | str, **extra: object) -> pipecast.Forecast:
    return pipecast.forecast(assets=ASSETS, rates=rates, as_of="2025-11-01", years="2025-2031",
                             target=TARGET, **extra)  # type: ignore[arg-type]


def test_a_plain_rate_file_means_independence(tmp_path: Path) -> None:
    plain = _run(GLOBAL)
    zero = _run(_with_factor(tmp_path, 0))
    assert plain.factor_nodes is None
    assert zero.factor_nodes is None
    assert plain.to_json()["factor"] is None
    assert [o.pmf for o in plain.outlooks] == [o.pmf for o in zero.outlooks]


def test_exact_mixture_matches_monte_carlo_under_the_same_factor(tmp_path: Path) -> None:
    rates = _with_factor(tmp_path, SIGMA)
    exact = _run(rates)
    independent = _run(GLOBAL)
    paths = 200_000
    mc = _run(rates, method="montecarlo", paths=paths, seed=5)
    target = parse_target(TARGET)
    for e, m, _i in zip(exact.outlooks, mc.outlooks, independent.outlooks, strict=True):
        spread = math.sqrt(sum((k - e.expected) ** 2 * p for k, p in enumerate(e.pmf)))
        assert abs(e.expected - m.expected) < 5 * spread / math.sqrt(paths) + 1e-6, e.year
        for k in range(3):
            p = e.p(k)
            assert abs(p - m.p(k)) < 5 * math.sqrt(p * (1 - p) / paths) + 1e-6, (e.year, k)
    p_exact = exact.check(target).all_years_in_band
    p_mc = mc.check(target).all_years_in_band
    assert abs(p_exact - p_mc) < 5 * math.sqrt(p_exact * (1 - p_exact) / paths)
    # The factor changes the answer (this test fails with the factor switched off) ...
    p_independent = independent.check(target).all_years_in_band
    assert abs(p_exact - p_independent) > 10 * math.sqrt(p_exact * (1 - p_exact) / paths)
    assert abs(exact.outlook(2026).p(0) - independent.outlook(2026).p(0)) > 0.05
    # ... and the pipeline-only, independent figure is the independent forecast's.
    assert exact.probability_met(target, pipeline_only=True) == pytest.approx(p_independent, abs=1e-12)
    assert exact.to_json(target)["factor"]["log_sd"] == SIGMA


def test_marginal_probabilities_are_the_node_mixture(tmp_path: Path) -> None:
    exact = _run(_with_factor(tmp_path, SIGMA))
    assert exact.factor_nodes is not None
    assert len(exact.factor_nodes) == 16
    mixed = sum(n.weight * n.probabilities for n in exact.factor_nodes)
    certain = exact.probabilities == 1.0
    assert np.allclose(exact.probabilities[~certain], np.asarray(mixed)[~certain], atol=1e-12)
    # The mean multiplier of a median-one lognormal is exp(sigma^2 / 2): the quadrature integrates it.
    mean = sum(n.weight * n.multiplier for n in exact.factor_nodes)
    assert mean == pytest.approx(math.exp(SIGMA**2 / 2), rel=1e-9)


def test_factor_sigma_is_refused_off_the_filed_rows_and_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="factor_sigma"):
        load_rate_set(_with_factor(tmp_path, 0.3, phase="phase2"))
    with pytest.raises(InputError, match="factor_sigma"):
        load_rate_set(_with_factor(tmp_path, 9))
    assert load_rate_set(_with_factor(tmp_path, 0.3)).factor_sigma == 0.3
