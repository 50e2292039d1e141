"""`transom cloud app add|list|remove`: the OAuth applications front ends log in through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import trio
import typer
from rich.markup import escape
from rich.table import Table

from cli.console import err, out

app = typer.Typer(help="Register the OAuth applications front ends log in through.", no_args_is_help=True)
CONTEXT = {"help_option_names": ["-h", "--help"]}
T = TypeVar("T")


def _run(work: Callable[[], Awaitable[T]]) -> T:
    from cloud.auth.app_command import EXPECTED_ERRORS

    try:
        return trio.run(work)
    except EXPECTED_ERRORS as exc:
        message = getattr(exc, "message", None) or str(exc)
        err.print(f"[red]error:[/] {escape(message)}", highlight=False)
        raise typer.Exit(2) from None


@app.command(name="add", context_settings=CONTEXT)
def add(
    name: str = typer.Argument(..., help="What the application is, e.g. Backoffice."),
    redirect_uri: str = typer.Option(
        ...,
        "--redirect-uri",
        help="Where its login lands, e.g. https://transom.example.com/control/oauth-resp.html.",
    ),
    data_dir: str = typer.Option(..., "--data-dir", help="The cloud's data directory."),
    scopes: str = typer.Option(
        "public", "--scopes", help="Space-separated scopes it may ask for (public: any)."
    ),
    confidential: bool = typer.Option(
        False,
        "--confidential",
        help="A server-side client that keeps a secret (printed once) and must send it.",
    ),
    skip_authorization: bool = typer.Option(
        False, "--skip-authorization", help="Recorded for PlaceOS's forms (Transom never asks for consent)."
    ),
) -> None:
    """Register an OAuth application; its client_id is the MD5 hex of the redirect URI.

    Example:

        transom cloud app add "Room control" --data-dir ./cloud \\
            --redirect-uri https://transom.example.com/control/oauth-resp.html
    """
    from cloud.auth.app_command import add_app

    work = partial(
        add_app,
        data_dir,
        name,
        redirect_uri,
        scopes=scopes.split(),
        confidential=confidential,
        skip_authorization=skip_authorization,
    )
    made: dict[str, Any] = _run(work)
    out.print(f"registered {made['name']!r} for {made['redirect_uri']}", highlight=False)
    typer.echo(f"client_id: {made['client_id']}")
    if confidential:
        err.print("its client secret (shown only once):")
        typer.echo(f"client_secret: {made['secret']}")


@app.command(name="list", context_settings=CONTEXT)
def list_command(data_dir: str = typer.Option(..., "--data-dir", help="The cloud's data directory.")) -> None:
    """List the registered OAuth applications.

    Example:

        transom cloud app list --data-dir ./cloud
    """
    from cloud.auth.app_command import list_apps

    apps: list[dict[str, Any]] = _run(partial(list_apps, data_dir))
    table = Table("client_id", "name", "redirect URI", "scopes", "confidential")
    for column in table.columns:
        column.overflow = "fold"
    for found in apps:
        table.add_row(
            found["client_id"],
            escape(found["name"]),
            escape(found["redirect_uri"]),
            " ".join(found.get("scopes") or []),
            "yes" if found.get("confidential") else "no",
        )
    out.print(table)


@app.command(name="remove", context_settings=CONTEXT)
def remove(
    app_id: str = typer.Argument(..., metavar="CLIENT_ID_OR_REDIRECT_URI", help="The application to remove."),
    data_dir: str = typer.Option(..., "--data-dir", help="The cloud's data directory."),
) -> None:
    """Remove an OAuth application (by client_id or redirect URI); logins through it stop at once.

    Example:

        transom cloud app remove https://transom.example.com/control/oauth-resp.html --data-dir ./cloud
    """
    from cloud.auth.app_command import remove_app

    removed: dict[str, Any] = _run(partial(remove_app, data_dir, app_id))
    out.print(
        f"removed {removed['name']!r} ({removed['client_id']}, {removed['redirect_uri']})", highlight=False
    )
