"""`pipecast rates calibrate`: fit a rate set from observed phase transitions, with a bundled set as prior."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipecast.commands.common import console, echo_json, parse_date_option, safe
from pipecast.domain import Phase
from pipecast.errors import InputError

if TYPE_CHECKING:
    from pipecast.backtest.calibration import CalibratedPhase, Transition

rates_app = typer.Typer(name="rates", help="Rate sets: fit them from observed history.", no_args_is_help=True)

TRANSITION_COLUMNS = ("phase", "entered", "ended", "outcome")
OUTCOMES = {"advanced": True, "approved": True, "failed": False, "discontinued": False, "": None}


def load_transitions(path: Path) -> list[Transition]:
    """TRANSITIONS.csv: phase,entered,ended,outcome (advanced/failed, blank while open) -> Transition list."""
    from pipecast.backtest.calibration import Transition
    from pipecast.domain import parse_phase
    from pipecast.errors import UnknownPhaseError
    from pipecast.tabular import parse_date

    name = str(path)
    if not path.is_file():
        raise InputError("file not found", file=name, expected="a CSV with columns " + ",".join(TRANSITION_COLUMNS))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip().casefold() for h in reader.fieldnames or []]
        missing = [c for c in TRANSITION_COLUMNS if c not in header]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}", file=name, row=1,
                             expected="columns " + ",".join(TRANSITION_COLUMNS))
        out: list[Transition] = []
        for number, raw in enumerate(reader, start=2):
            record = {k.strip().casefold(): (v or "").strip() for k, v in raw.items() if k}
            try:
                phase = parse_phase(record["phase"])
            except UnknownPhaseError as exc:
                raise InputError(str(exc), file=name, row=number, field="phase") from None
            dates: list[dt.date | None] = []
            for column in ("entered", "ended"):
                text = record[column]
                if not text and column == "ended":
                    dates.append(None)
                    continue
                try:
                    dates.append(parse_date(text))
                except ValueError:
                    raise InputError(f"{text!r} is not a date", file=name, row=number, field=column,
                                     expected="an ISO date such as 2021-03-05") from None
            outcome = record["outcome"].casefold()
            if outcome not in OUTCOMES:
                raise InputError(f"unknown outcome {outcome!r}", file=name, row=number, field="outcome",
                                 expected="advanced, failed, or blank while the phase is under way")
            entered, ended = dates
            assert entered is not None
            if (ended is None) != (OUTCOMES[outcome] is None):
                raise InputError("ended and outcome go together", file=name, row=number, field="outcome",
                                 expected="both filled (a finished phase) or both blank (under way)")
            if ended is not None and ended < entered:
                raise InputError("ended is before entered", file=name, row=number, field="ended",
                                 expected="a date on or after entered")
            out.append(Transition(phase, entered, ended, OUTCOMES[outcome]))
    return out


def _store_transitions(ctx: typer.Context, when: dt.date) -> tuple[list[Transition], str]:
    """Phase spells from the store's histories as known at `when`, and a label for provenance."""
    from pipecast.backtest.calibration import transitions_from_assets
    from pipecast.commands.common import context_db, open_store

    with open_store(ctx, preview=True) as store:
        assets = store.assets(as_of=when)
        label = store.engine.url.render_as_string(hide_password=True) if store.dialect != "sqlite" else (
            Path(str(store.engine.url.database or "memory")).name)
    if not assets:
        raise InputError(f"the store has no phase history known on {when}", file=context_db(ctx) or "default store",
                         field="--db", expected="a store with candidates (pipecast import ...) or a TRANSITIONS.csv")
    return transitions_from_assets(assets, when), f"store {label}"


def _with_filed_mixture(row: CalibratedPhase, path: Path, when: dt.date) -> CalibratedPhase:
    """The filed row with its duration replaced by the FDA priority/standard/tail mixture fitted as of `when`."""
    from dataclasses import replace

    from pipecast.backtest.filed_shape import fit_filed
    from pipecast.loading.fda import load_fda_filings

    fit = fit_filed(load_fda_filings(path), when)
    parts = ", ".join(f"{w:.3f} x {c.median_months:.1f}/{c.p90_months:.1f}" for w, c in fit.mixture.components)
    note = (f"{row.row.note}; duration: mixture (weight x median/p90 months: priority, standard, tail) {parts} "
            f"fitted on {fit.filings} FDA filings known at {when} ({fit.pending} pending, censored) from {path.name}")
    return replace(row, row=replace(row.row, duration=fit.mixture, note=note), median_interval_months=None)


def write_rate_file(out: Path, rows: Sequence[CalibratedPhase]) -> None:
    """The calibrated rows as a rate file (mixture rows give mix_weights, mix_medians, mix_p90s)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phase", "p_success", "median_months", "p90_months", "source", "note",
                         "mix_weights", "mix_medians", "mix_p90s"])
        for r in rows:
            duration = r.row.duration
            parts = duration.components
            mix = [";".join(f"{v:.6g}" for v in values) for values in (
                [w for w, _ in parts], [c.median_months for _, c in parts], [c.p90_months for _, c in parts])]
            writer.writerow([r.phase.value, f"{r.row.p_success:.4f}", f"{duration.median_months:.2f}",
                             f"{duration.p90_months:.2f}", r.row.source, r.row.note, *mix])


def calibrate_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Rate file to write (CSV).")],
    as_of: Annotated[str, typer.Option("--as-of", help="Use only what was known on this date, e.g. 2024-12-31.")],
    transitions: Annotated[Path | None, typer.Argument(
        help="TRANSITIONS.csv: phase,entered,ended,outcome. Without it: the store's phase histories (--db).",
        show_default=False)] = None,
    prior: Annotated[str, typer.Option("--prior", help="Bundled rate set used as prior: global or china.")] = "global",
    prior_strength: Annotated[
        float, typer.Option("--prior-strength", min=0.01, help="Pseudo-observations the prior counts as.")
    ] = 10.0,
    fda_filings: Annotated[Path | None, typer.Option(
        "--filed-mixture", help="FDA CDER NME compilation (CSV): write the filed row's duration as a mixture "
        "(priority and standard clocks, resubmission tail) fitted on filings known at --as-of.",
        show_default=False)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of a table.")] = False,
) -> None:
    """Fit success probabilities (beta-binomial, prior shown) and durations (lognormal, right-censored) from
    observed phase spells (a TRANSITIONS.csv, or the store's histories as known at --as-of: candidates
    still in a phase censored, discontinued ones failures), and write a rate file with provenance.

    Example: pipecast rates calibrate --db pipecast.sqlite --as-of 2024-12-31 --prior china --out RATES.csv

    Example: pipecast rates calibrate TRANSITIONS.csv --as-of 2024-12-31 --prior global --out RATES.csv
    """
    from pipecast.backtest.calibration import calibrate
    from pipecast.loading.rates import bundled_rate_set

    when = parse_date_option(as_of)
    assert when is not None
    if out.exists() and out.is_dir():
        raise InputError("is a folder", file=str(out), field="--out", expected="a file name such as RATES.csv")
    prior_set = bundled_rate_set(prior)
    if transitions is not None:
        spells = load_transitions(transitions)
        label = transitions.name
    else:
        spells, label = _store_transitions(ctx, when)
    source = f"pipecast rates calibrate {label} as of {when} ({len(spells)} spells)"
    rows = calibrate(spells, prior_set, when, prior_strength, source=source)
    if fda_filings is not None:
        rows = [_with_filed_mixture(r, fda_filings, when) if r.phase is Phase.FILED else r for r in rows]
    write_rate_file(out, rows)
    if json_output:
        echo_json([{"phase": r.phase.value, "p_success": r.row.p_success, "p_interval": list(r.p_interval),
                    "median_months": r.row.duration.median_months, "p90_months": r.row.duration.p90_months,
                    "median_interval_months": r.median_interval_months, "advanced": r.advanced,
                    "failed": r.failed, "open": r.open_spells, "prior_p": r.prior_p,
                    "prior_strength": r.prior_strength} for r in rows])
        return
    from rich.table import Table

    table = Table(title=f"Calibrated rates as of {when} (prior {prior}, strength {prior_strength:g})")
    for column in ("phase", "advanced", "failed", "open", "prior p", "p", "p 95%", "median months", "p90 months"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(r.phase.value, str(r.advanced), str(r.failed), str(r.open_spells), f"{r.prior_p:.3f}",
                      f"{r.row.p_success:.3f}", f"{r.p_interval[0]:.3f}-{r.p_interval[1]:.3f}",
                      f"{r.row.duration.median_months:.1f}", f"{r.row.duration.p90_months:.1f}")
    console.print(table)
    console.print(safe(f"Wrote {out}"))


def register(app: typer.Typer) -> None:
    rates_app.command("calibrate")(calibrate_command)
    app.add_typer(rates_app, name="rates")
