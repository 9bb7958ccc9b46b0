"""`pipecast serve`: the REST API and dashboard with uvicorn; `pipecast db upgrade`: migrate a store.

The store is opened (created if missing) and migrated to the packaged schema when the server starts.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pipecast.commands.common import context_db, echo
from pipecast.errors import InputError

HostOption = Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only; "
                                                        "put a reverse proxy in front for others).")]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")]


def serve_command(
    ctx: typer.Context,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    public_read: Annotated[bool, typer.Option("--public-read", help="Anyone may read without logging in; "
                                                                    "writes still need a user.")] = False,
    behind_proxy: Annotated[bool, typer.Option("--behind-proxy", help="Trust X-Forwarded-For for client "
                                               "addresses and send cookies only over HTTPS.")] = False,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /api/v1/openapi.json) and the dashboard."""
    import uvicorn

    from pipecast.api import ApiSettings, create_app

    if not host.strip():
        raise InputError("empty host", field="--host", expected="an address such as 127.0.0.1")
    settings = ApiSettings(db=context_db(ctx), public_read=public_read, trust_forwarded=behind_proxy,
                           secure_cookies=behind_proxy)
    app = create_app(settings)
    echo(f"pipecast serving on http://{host}:{port}/ (API at /api/v1, Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def upgrade_command(ctx: typer.Context) -> None:
    """Create the store if missing and apply the packaged migrations up to the newest schema."""
    from pipecast.store import Store, resolve_url

    with Store.open(resolve_url(context_db(ctx)), create=True) as store:
        store.upgrade()
        echo(f"{store.display_url}: schema version {store.schema_version()}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    db_app = typer.Typer(help="The database: upgrade its schema.", no_args_is_help=True)
    db_app.command("upgrade")(upgrade_command)
    app.add_typer(db_app, name="db")
