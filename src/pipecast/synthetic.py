"""Synthetic pipelines for benchmarks and tests: realistic shapes, nothing real, same output per seed.

Shares are round figures chosen to look like a large national or global pipeline (many preclinical
and phase 1 candidates, few filings; oncology about a third; small molecules and antibodies
dominant) and sponsors whose sizes follow a Zipf law (a few large companies, a long tail of
single-asset biotechs). They are not estimates of any real pipeline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np

from pipecast.domain import Asset, Phase, PhaseEvent, Portfolio

PHASE_SHARES: dict[Phase, float] = {
    Phase.PRECLINICAL: 0.34,
    Phase.PHASE1: 0.28,
    Phase.PHASE2: 0.20,
    Phase.PHASE3: 0.09,
    Phase.FILED: 0.03,
    Phase.APPROVED: 0.03,
    Phase.DISCONTINUED: 0.03,
}
AREA_SHARES: dict[str, float] = {
    "Oncology": 0.34,
    "Immunology": 0.10,
    "Neurology": 0.10,
    "Infectious disease": 0.09,
    "Metabolic": 0.09,
    "Cardiovascular": 0.07,
    "Rare disease": 0.07,
    "Respiratory": 0.05,
    "Ophthalmology": 0.04,
    "Other": 0.05,
}
MODALITY_SHARES: dict[str, float] = {
    "small molecule": 0.42,
    "monoclonal antibody": 0.18,
    "antibody-drug conjugate": 0.07,
    "bispecific antibody": 0.06,
    "cell therapy": 0.07,
    "gene therapy": 0.04,
    "vaccine": 0.06,
    "peptide": 0.05,
    "oligonucleotide": 0.05,
}
#: Typical months already spent in each phase (scale of an exponential), for phase-start dates.
MONTHS_IN_PHASE: dict[Phase, float] = {
    Phase.PRECLINICAL: 10.0,
    Phase.PHASE1: 18.0,
    Phase.PHASE2: 24.0,
    Phase.PHASE3: 24.0,
    Phase.FILED: 8.0,
    Phase.APPROVED: 24.0,
    Phase.DISCONTINUED: 24.0,
}


def _pick(rng: np.random.Generator, shares: Mapping[Any, float], n: int) -> list[Any]:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())]


def synthetic_assets(
    n: int,
    *,
    seed: int = 0,
    as_of: dt.date = dt.date(2025, 11, 1),
    sponsors: int | None = None,
    zipf: float = 1.1,
    prefix: str = "syn",
) -> list[Asset]:
    """`n` candidates with phases, areas, modalities, sponsors (Zipf shares) and phase-start dates."""
    rng = np.random.default_rng(seed)
    n_sponsors = sponsors or max(1, n // 4)
    weights = 1.0 / np.arange(1, n_sponsors + 1) ** zipf
    sponsor_of = rng.choice(n_sponsors, size=n, p=weights / weights.sum())
    phases = _pick(rng, PHASE_SHARES, n)
    areas = _pick(rng, AREA_SHARES, n)
    modalities = _pick(rng, MODALITY_SHARES, n)
    targets = rng.integers(0, max(1, n // 10), size=n)
    assets = []
    for i in range(n):
        phase = phases[i]
        months = float(rng.exponential(MONTHS_IN_PHASE[phase]))
        start = as_of - dt.timedelta(days=int(months * 30.44))
        assets.append(
            Asset(
                id=f"{prefix}-{i}",
                name=f"Synthetic candidate {i}",
                history=(PhaseEvent(phase, start),),
                sponsor=f"Sponsor {sponsor_of[i]:05d}",
                modality=modalities[i],
                therapeutic_area=areas[i],
                target=f"T{targets[i]}",
            )
        )
    return assets


def synthetic_portfolio(n: int, *, seed: int = 0, as_of: dt.date = dt.date(2025, 11, 1), **kwargs: Any) -> Portfolio:
    return Portfolio.of(synthetic_assets(n, seed=seed, as_of=as_of, **kwargs), as_of, label=f"synthetic {n}")
