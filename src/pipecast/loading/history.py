"""Read a data set folder with dated history (assets.csv + events.csv + dataset.json) for a backtest."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pipecast.domain import Asset
from pipecast.errors import InputError


def bundled_dataset_folder(name: str = "chongqing") -> Path:
    """The folder of a data set shipped in pipecast/data/."""
    from importlib import resources

    folder = Path(str(resources.files("pipecast.data") / name))
    if not (folder / "events.csv").is_file():
        raise InputError(f"no bundled data set {name!r}", field="--data", expected="a data set folder")
    return folder


def load_history(folder: str | Path, *, today: dt.date) -> tuple[list[Asset], dt.date]:
    """(assets with their dated history, the data set's as-of date).

    The as-of date is `as_of` in dataset.json when present, else the latest event or recorded date.
    """
    from pipecast.ingest.assets_file import load_dataset

    path = Path(folder)
    if not (path / "assets.csv").is_file() or not (path / "events.csv").is_file():
        raise InputError("not a data set folder", file=str(path), field="--data",
                         expected="a folder with assets.csv and events.csv")
    assets = load_dataset(path, today=today)
    meta = path / "dataset.json"
    if meta.is_file():
        try:
            text = json.loads(meta.read_text(encoding="utf-8")).get("as_of", "")
            return assets, dt.date.fromisoformat(str(text))
        except (ValueError, AttributeError):
            raise InputError("no valid as_of date", file=str(meta), field="as_of",
                             expected="an ISO date such as 2026-06-27") from None
    latest = max(e.known_on for a in assets for e in a.history)
    return assets, latest
