"""The `pipecast` command. It only builds objects from arguments and turns errors into one line.

Every error a user can cause ends as one line on stderr, `error: ...`, and exit status 2: our own errors
(PipecastError), command-line mistakes (unknown option, bad or missing value), unreadable files. Command
modules are imported only for the command that runs, so that start-up stays light.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

# Typer (0.25 and later) runs on its own vendored copy of Click (typer._click): its usage errors are these.
from typer._click import core as click
from typer._click import exceptions as click_errors

from pipecast import __version__, changes
from pipecast.alerting import after_change
from pipecast.commands.common import DbOption, safe
from pipecast.errors import PipecastError, UsageError
from pipecast.settings import AppContext

VERSION = __version__
HELP = (
    "Watch a region's innovative-drug pipeline and forecast, with honest uncertainty, how many "
    "candidates will be approved each year, and how likely a plan's target is to be met. "
    "--db may be given before or after the command."
)

#: Which module provides each top-level command; each module exposes register(app). A module that is not
#: installed (an optional group) is skipped; a command not listed here mounts every module.
COMMANDS: dict[str, str] = {
    "forecast": "pipecast.commands.forecast_cmd",
    "report": "pipecast.commands.report_cmd",
    "scenarios": "pipecast.commands.scenario_cmds",
    "import": "pipecast.commands.store_cmds",
    "export": "pipecast.commands.store_cmds",
    "assets": "pipecast.commands.store_cmds",
    "load-bundled": "pipecast.commands.store_cmds",
    "pipeline": "pipecast.commands.store_cmds",
    "orgs": "pipecast.commands.store_cmds",
    "review": "pipecast.commands.store_cmds",
    "merge": "pipecast.commands.store_cmds",
    "split": "pipecast.commands.store_cmds",
    "undo": "pipecast.commands.store_cmds",
    "actions": "pipecast.commands.store_cmds",
    "ingest": "pipecast.commands.ingest_cmds",
    "check": "pipecast.commands.ingest_cmds",
    "verify": "pipecast.commands.verify_cmd",
    "backtest": "pipecast.commands.backtest_cmd",
    "rates": "pipecast.commands.rates_cmd",
    "value": "pipecast.commands.value_cmd",
    "plan": "pipecast.commands.plan_cmd", "compare-regions": "pipecast.commands.plan_cmd",
    "serve": "pipecast.commands.serve_cmd", "db": "pipecast.commands.serve_cmd", "users": "pipecast.commands.users_cmd",
    "cases": "pipecast.commands.cases_cmd", "alerts": "pipecast.commands.alerts_cmd",
    "regions": "pipecast.commands.regions_cmd",
}
#: Every command module, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))
#: Options of the `pipecast` group itself; --db is also accepted after any subcommand.
GLOBAL_OPTIONS_WITH_VALUE = ("--db",)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pipecast {VERSION}")
        raise typer.Exit()


def _root_callback(
    ctx: typer.Context,
    db: DbOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    ctx.obj = AppContext(db=db or "")


def build_app(modules: Sequence[str] = COMMAND_MODULES) -> typer.Typer:
    """A Typer app with the given command modules mounted (the ones that are installed)."""
    application = typer.Typer(name="pipecast", help=HELP, no_args_is_help=True, add_completion=False,
                              pretty_exceptions_enable=False, rich_markup_mode=None)
    application.callback()(_root_callback)
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(application)
    return application


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """`pipecast report --db X` means `pipecast --db X report`: a global option after the command moves in
    front of it (up to a `--`), so that it has the same meaning wherever the user types it."""
    args = list(argv)
    name_at = _command_index(args)
    if name_at is None:
        return args
    moved: list[str] = []
    rest: list[str] = args[: name_at + 1]
    i = name_at + 1
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in GLOBAL_OPTIONS_WITH_VALUE:
            if i + 1 == len(args):
                raise UsageError("needs a value", option=arg)
            moved.extend(args[i: i + 2])
            i += 2
            continue
        if any(arg.startswith(option + "=") for option in GLOBAL_OPTIONS_WITH_VALUE):
            moved.append(arg)
            i += 1
            continue
        rest.append(arg)
        i += 1
    return moved + rest


def _command_index(argv: Sequence[str]) -> int | None:
    """Where the top-level command is named on the command line, skipping the group's own options."""
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg in GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif arg == "--":
            return None
        elif not arg.startswith("-"):
            return i
    return None


def _command_name(argv: Sequence[str]) -> str | None:
    at = _command_index(argv)
    return None if at is None else argv[at]


def click_command(argv: Sequence[str] = ()) -> click.Command:
    """The Click command for this command line: only the module of the command named, if known."""
    name = _command_name(argv)
    if name is None and "--version" in argv:
        modules: Sequence[str] = ()
    else:
        modules = (COMMANDS[name],) if name in COMMANDS else COMMAND_MODULES
    return typer.main.get_command(build_app(modules))


def usage_message(exc: click_errors.UsageError) -> str:
    """A Click usage error as one line: `--paths: expected a positive integer, got 0`."""
    if isinstance(exc, click_errors.NoSuchOption):
        hint = f"; did you mean {' or '.join(sorted(exc.possibilities))}?" if exc.possibilities else ""
        where = f" for `{exc.ctx.command_path}`" if exc.ctx is not None else ""
        return f"{exc.option_name}: no such option{where}{hint} (see --help)"
    if isinstance(exc, click_errors.BadOptionUsage) and "requires an argument" in exc.message:
        return f"{exc.option_name}: needs a value (see --help)"
    if isinstance(exc, click_errors.BadParameter | click_errors.MissingParameter) and exc.param is not None:
        names = [o for o in exc.param.opts if o.startswith("--")] or list(exc.param.opts)
        label = names[0] if exc.param.param_type_name == "option" else (exc.param.name or "").upper()
        if isinstance(exc, click_errors.MissingParameter):
            return f"{label}: missing (see --help)"
        return f"{label}: {exc.message.rstrip('.')}"
    text = " ".join(exc.format_message().split())
    return text.rstrip(".")


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"error: {safe(' '.join(str(message).split()))}\n")
    sys.stderr.flush()
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default sys.argv[1:]) and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        args = hoist_global_options(args)
        command = click_command(args)
        with changes.active(after_change):  # a committed import or edit runs the alert scan after it
            result = command.main(args=args, prog_name="pipecast", standalone_mode=False)
    except PipecastError as exc:
        return _fail(str(exc), exc.exit_code)
    except click_errors.NoArgsIsHelpError as exc:
        if exc.ctx is not None:
            typer.echo(exc.ctx.get_help())
        return 2
    except click_errors.UsageError as exc:
        return _fail(usage_message(exc))
    except click_errors.ClickException as exc:
        return _fail(exc.format_message())
    except typer.Abort:
        return _fail("aborted", 130)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except FileNotFoundError as exc:
        return _fail(f"{exc.filename}: no such file or folder" if exc.filename else str(exc))
    except PermissionError as exc:
        return _fail(f"{exc.filename}: permission denied" if exc.filename else str(exc))
    except IsADirectoryError as exc:
        return _fail(f"{exc.filename}: is a folder, expected a file")
    except OSError as exc:
        if exc.filename is None:
            raise
        return _fail(f"{exc.filename}: {exc.strerror or exc}")
    except MemoryError:
        return _fail("out of memory: try a smaller input, fewer --paths or fewer years")
    return result if isinstance(result, int) else 0


def main() -> None:
    """Entry point: user mistakes become one line on stderr and exit status 2, never a traceback."""
    sys.exit(run())


def __getattr__(name: str) -> Any:
    if name == "app":  # the full Typer app, for tests that drive it with typer.testing.CliRunner
        return build_app()
    raise AttributeError(name)


if __name__ == "__main__":  # python -m pipecast.cli
    main()
