"""The scenario files the scenario page offers: YAML files in the folders the app is given
(`state.extra["scenario_dirs"]`), else the examples shipped in a source checkout (examples/scenarios/**).

Only files found there can be chosen (the page sends a key, never a path), and each is read with the safe,
budgeted YAML loader of `pipecast.loading.scenarios`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipecast.api.deps import AppState
from pipecast.errors import PipecastError

#: The examples folder of a source checkout (src/pipecast/web -> repository root).
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "scenarios"
MAX_FILES = 200


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    key: str
    name: str
    path: Path
    description: str
    target: str
    rates: str


def folders(state: AppState) -> list[Path]:
    given = state.extra.get("scenario_dirs")
    if isinstance(given, Sequence) and not isinstance(given, str):
        return [Path(str(p)) for p in given]
    return [EXAMPLES] if EXAMPLES.is_dir() else []


def scenario_files(state: AppState) -> list[ScenarioFile]:
    """Every readable scenario file in the folders, sorted by name; unreadable files are left out."""
    from pipecast.loading.scenarios import load_scenario

    found: list[ScenarioFile] = []
    for folder in folders(state):
        for path in sorted(folder.rglob("*.yaml"))[:MAX_FILES]:
            try:
                scenario = load_scenario(path)
            except PipecastError:
                continue
            key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
            found.append(ScenarioFile(key, scenario.name, path, scenario.description,
                                      str(scenario.target) if scenario.target else "", scenario.rates or ""))
    return sorted(found, key=lambda f: (f.name, f.key))
