"""`pipecast alerts watch|unwatch|watches|recipient|scan|list|send`: watch lists and digests.

    pipecast alerts watch li candidate genrix-gr1802      kinds: candidate, company, region, target
    pipecast alerts recipient li --email li@example.org --lang zh
    pipecast alerts scan                                  find what changed (every import or edit runs it too)
    pipecast alerts list li                               the digests in the app
    pipecast alerts send                                  scan, then e-mail queued digests (PIPECAST_SMTP_HOST)

A scan compares the registry with what the last scan saw: a candidate's phase (a filing, an approval), a new
deal, a plan target's verdict (on track / at risk; skip with --no-targets). The first scan of a store sets
the baseline and reports nothing (the first watch runs it). Every committed import or edit (a merge, a
split, an undo, a deal, a case move) runs the scan right after it, so watchers get their digest without
this command; a failing scan is logged and never fails the write. A refused or timed-out e-mail stays
queued; `alerts send` retries it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from pipecast.alerting import registry_snapshot as registry_snapshot  # re-exported: the snapshot lives there
from pipecast.commands.common import JsonOption, echo, echo_json, open_store, safe

if TYPE_CHECKING:
    from pipecast.store import Store

UserArgument = Annotated[str, typer.Argument(help="The user's name.", show_default=False)]
KindArgument = Annotated[str, typer.Argument(help="candidate, company, region or target.", show_default=False)]
TargetArgument = Annotated[str, typer.Argument(help="The id watched (candidate, organisation, region, KPI).",
                                               show_default=False)]
NoTargetsOption = Annotated[bool, typer.Option("--no-targets", help="Do not evaluate the plan's targets "
                                                                   "(faster; their risk changes are not seen).")]

def _check_user(store: Store, user: str) -> None:
    from pipecast.errors import InputError
    from pipecast.store import users

    with users.session_scope(store) as session:
        if users.get_user(session=session, name=user) is None:
            raise InputError(f"unknown user {user!r}", field="USER", expected="a name from `pipecast users list`")


def watch_command(ctx: typer.Context, user: UserArgument, kind: KindArgument, target: TargetArgument) -> None:
    """Watch a candidate, company, region or plan target."""
    from pipecast.alerting import ensure_baseline
    from pipecast.alerts import Watch
    from pipecast.store.alerts import add_watch

    watch = Watch(user, kind, target)
    with open_store(ctx) as store:
        _check_user(store, user)
        added = add_watch(store, watch)
        ensure_baseline(store)
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
    from pipecast.alerting import scan_registry

    return scan_registry(store, today, targets=targets)


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
