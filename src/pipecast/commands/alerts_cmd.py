"""`pipecast alerts watch|unwatch|watches|recipient|scan|list|send`: watch lists and digests.

    pipecast alerts watch li candidate genrix-gr1802      kinds: candidate, company, region, target
    pipecast alerts recipient li --email li@example.org --lang zh
    pipecast alerts scan                                  after an import or an edit: find what changed
    pipecast alerts list li                               the digests in the app
    pipecast alerts send                                  scan, then e-mail queued digests (PIPECAST_SMTP_HOST)

A scan compares the registry with what the last scan saw: a candidate's phase (a filing, an approval), a new
deal, a plan target's verdict (on track / at risk; skip with --no-targets). The first scan of a store sets
the baseline and reports nothing. A refused or timed-out e-mail stays queued; `alerts send` retries it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from pipecast.commands.common import JsonOption, echo, echo_json, open_store, safe

if TYPE_CHECKING:
    from pipecast.store import Store

UserArgument = Annotated[str, typer.Argument(help="The user's name.", show_default=False)]
KindArgument = Annotated[str, typer.Argument(help="candidate, company, region or target.", show_default=False)]
TargetArgument = Annotated[str, typer.Argument(help="The id watched (candidate, organisation, region, KPI).",
                                               show_default=False)]
NoTargetsOption = Annotated[bool, typer.Option("--no-targets", help="Do not evaluate the plan's targets "
                                                                   "(faster; their risk changes are not seen).")]

Tags = dict[str, frozenset[tuple[str, str]]]


def _region_tags(regions: frozenset[str], tree: object) -> set[tuple[str, str]]:
    from pipecast.plan.regions import RegionTree

    assert isinstance(tree, RegionTree)
    out: set[tuple[str, str]] = set()
    for region in regions:
        out |= {("region", r) for r in (region, *tree.ancestors(region))}
    return out


def registry_snapshot(store: Store, today: dt.date, *, targets: bool = True) -> tuple[dict[str, str], Tags,
                                                                                     dict[str, str]]:
    """(snapshot, tags, labels) of the registry on `today`: phases, deals and (optionally) target verdicts."""
    from pipecast.domain import normalise_name, sponsors
    from pipecast.loading.hubs import load_regions
    from pipecast.plan.regions import candidate_regions
    from pipecast.store.money import deals

    assets = store.assets()
    orgs = store.organisations()
    tree, _ = load_regions()
    regions = candidate_regions(assets, orgs, tree)
    snapshot: dict[str, str] = {}
    tags: Tags = {}
    labels: dict[str, str] = {}
    asset_tags: dict[str, set[tuple[str, str]]] = {}
    for a in assets:
        mine = {("candidate", a.id)} | {("company", o.id) for o in orgs if sponsors(o, a)}
        mine |= _region_tags(regions.get(a.id, frozenset()), tree)
        asset_tags[a.id] = mine
        key = f"phase:{a.id}"
        snapshot[key], tags[key], labels[key] = a.phase.value, frozenset(mine), f"{a.name} ({a.id})"
    names = {normalise_name(n): o.id for o in orgs for n in (o.id, o.name, *o.aliases) if n}
    for d in deals(store):
        key = f"deal:{d.key}"
        mine = set(asset_tags.get(d.candidate, set()))
        mine |= {("company", names[n]) for n in (normalise_name(d.licensor), normalise_name(d.licensee)) if n in names}
        snapshot[key] = f"{d.licensor} -> {d.licensee} ({d.date_text})"
        tags[key], labels[key] = frozenset(mine), d.asset or d.candidate or d.key
    if targets:
        _target_snapshot(assets, today, tree, snapshot, tags, labels)
    return snapshot, tags, labels


def _target_snapshot(assets: Sequence[object], today: dt.date, tree: object, snapshot: dict[str, str], tags: Tags,
                     labels: dict[str, str]) -> None:
    from pipecast.domain import Asset
    from pipecast.facade import resolve_rates
    from pipecast.loading.plan import load_figures, load_targets
    from pipecast.plan.verdict import evaluate

    goals = load_targets()
    known = [a for a in assets if isinstance(a, Asset)]
    for status in evaluate(goals, load_figures(None, goals), known, resolve_rates(None), today):
        key = f"risk:{status.target.id}"
        region = status.target.region
        mine = {("target", status.target.id)} | (_region_tags(frozenset({region}), tree) if region else set())
        snapshot[key], tags[key], labels[key] = status.verdict, frozenset(mine), status.target.id


def _check_user(store: Store, user: str) -> None:
    from pipecast.errors import InputError
    from pipecast.store import users

    with users.session_scope(store) as session:
        if users.get_user(session=session, name=user) is None:
            raise InputError(f"unknown user {user!r}", field="USER", expected="a name from `pipecast users list`")


def watch_command(ctx: typer.Context, user: UserArgument, kind: KindArgument, target: TargetArgument) -> None:
    """Watch a candidate, company, region or plan target."""
    from pipecast.alerts import Watch
    from pipecast.store.alerts import add_watch

    watch = Watch(user, kind, target)
    with open_store(ctx) as store:
        _check_user(store, user)
        added = add_watch(store, watch)
    echo(f"{safe(user)} {'now watches' if added else 'already watches'} {kind} {safe(target)}")


def unwatch_command(ctx: typer.Context, user: UserArgument, kind: KindArgument, target: TargetArgument) -> None:
    """Stop watching."""
    from pipecast.alerts import Watch
    from pipecast.store.alerts import remove_watch

    with open_store(ctx) as store:
        removed = remove_watch(store, Watch(user, kind, target))
    echo(f"{safe(user)} {'no longer watches' if removed else 'did not watch'} {kind} {safe(target)}")


def watches_command(ctx: typer.Context, user: Annotated[str | None, typer.Argument(show_default=False)] = None,
                    as_json: JsonOption = False) -> None:
    """The watch lists (of one user)."""
    from pipecast.store.alerts import watches

    with open_store(ctx) as store:
        found = watches(store, user)
    if as_json:
        echo_json([{"user": w.user, "kind": w.kind, "target": w.target} for w in found])
        return
    for w in found:
        echo(f"{safe(w.user)}\t{w.kind}\t{safe(w.target)}")


def recipient_command(
    ctx: typer.Context, user: UserArgument,
    email: Annotated[str, typer.Option("--email", help="Where digests are mailed (\"\": in the app only).")] = "",
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
) -> None:
    """Set a user's e-mail address and digest language."""
    from pipecast.store.alerts import set_recipient

    with open_store(ctx) as store:
        _check_user(store, user)
        set_recipient(store, user, email=email, language=lang)
    echo(f"{safe(user)}: digests in {lang}" + (f", mailed to {safe(email)}" if email else ", in the app only"))


def _scan(store: Store, today: dt.date, targets: bool) -> tuple[int, int]:
    from pipecast.store.alerts import scan

    snapshot, tags, labels = registry_snapshot(store, today, targets=targets)
    changes, made = scan(store, snapshot, tags, labels, today)
    return len(changes), len(made)


def scan_command(ctx: typer.Context, no_targets: NoTargetsOption = False, as_json: JsonOption = False) -> None:
    """Find what changed since the last scan and write each watcher's digest."""
    from pipecast import clock

    with open_store(ctx) as store:
        changes, made = _scan(store, clock.today(), not no_targets)
    if as_json:
        echo_json({"changes": changes, "digests": made})
        return
    echo(f"{changes} change(s), {made} digest(s)")


def list_command(ctx: typer.Context, user: Annotated[str | None, typer.Argument(show_default=False)] = None,
                 as_json: JsonOption = False) -> None:
    """Digests in the app (of one user), newest first, with their e-mail deliveries."""
    from pipecast.store.alerts import digests

    with open_store(ctx) as store:
        found = digests(store, user)
    if as_json:
        echo_json([d.as_dict() for d in found])
        return
    for d in found:
        sent = "; ".join(f"{a}: {s} after {n} attempt(s)" for a, s, n, _ in d.deliveries) or "in the app only"
        echo(f"#{d.id} {safe(d.user)} [{d.language}] {safe(d.subject)} ({safe(sent)})")
        echo(safe(d.body, keep_newlines=True))


def send_command(ctx: typer.Context, no_targets: NoTargetsOption = False,
                 no_scan: Annotated[bool, typer.Option("--no-scan", help="Only retry queued e-mails.")] = False,
                 as_json: JsonOption = False) -> None:
    """Scan, then send every queued digest e-mail; failures stay queued (exit 1 if any failed)."""
    from pipecast import clock
    from pipecast.mail import SmtpServer, deliver_pending

    server = SmtpServer.from_settings()
    with open_store(ctx) as store:
        changes = made = 0
        if not no_scan:
            changes, made = _scan(store, clock.today(), not no_targets)
        report = deliver_pending(store, server)
    if as_json:
        echo_json({"changes": changes, "digests": made, "sent": report.sent, "failed": report.failed,
                   "errors": list(report.errors)})
    else:
        echo(f"{changes} change(s), {made} digest(s); sent {report.sent}, still queued {report.failed}")
        for error in report.errors:
            echo(f"queued for retry: {safe(error)}", err=True)
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    alerts_app = typer.Typer(help="Watch lists and digests: watch, unwatch, watches, recipient, scan, list, send.",
                             no_args_is_help=True)
    for name, command in (("watch", watch_command), ("unwatch", unwatch_command), ("watches", watches_command),
                          ("recipient", recipient_command), ("scan", scan_command), ("list", list_command),
                          ("send", send_command)):
        alerts_app.command(name)(command)
    app.add_typer(alerts_app, name="alerts")
