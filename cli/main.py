"""The `transom` console script: a thin layer that hands each subcommand to the module owning it.

transom demo            the whole product on embedded defaults
transom bench NAME      a benchmark from tests/bench
transom cloud ...       the cloud tier (API, auth, store, search)
transom edge ...        an edge node
transom driver ...      inspect or run one driver
transom image ...       build the edge image; update a device
transom simulate ...    a device simulator
"""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from cli import __version__, bench
from cli.commands import cloud, demo, driver, edge, image, simulate
from cli.console import err, out

CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="transom",
    help="Transom runs the technology in buildings: edge nodes on the site LAN, a cloud tier above.",
    context_settings=CONTEXT,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(cloud.app, name="cloud")
app.add_typer(edge.app, name="edge")
app.add_typer(driver.app, name="driver")
app.add_typer(image.app, name="image")
app.command(name="simulate", context_settings=CONTEXT)(simulate.simulate)
app.command(name="demo", context_settings=CONTEXT)(demo.demo)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main_options(
    show_version: bool = typer.Option(
        False,
        "--version",
        "-V",
        help="Print Transom's version and exit.",
        is_eager=True,
        callback=_print_version,
    ),
) -> None:
    """Transom runs the technology in buildings: edge nodes on the site LAN, a cloud tier above."""


@app.command(name="version", context_settings=CONTEXT)
def version() -> None:
    """Print Transom's version.

    Example:

        transom version
    """
    typer.echo(__version__)


@app.command(name="bench", context_settings=CONTEXT)
def bench_command(
    name: str = typer.Argument("", help="Benchmark to run; omit to list them."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one line of JSON."),
    quick: bool = typer.Option(False, "--quick", help="A small load, to check it runs."),
    stores: list[str] = typer.Option(
        [], "--store", help="bench store: also measure the store at this URL (repeatable)."
    ),
) -> None:
    """Run a benchmark from tests/bench and print its figures.

    Example:

        transom bench store --json
        transom bench store --store postgresql://... --store rethinkdb://host:28015/bench
    """
    if not name:
        table = Table("benchmark", "what it measures")
        for bench_name, description in bench.available().items():
            table.add_row(bench_name, description)
        out.print(table)
        return
    try:
        figures = bench.run(name, quick=quick, stores=stores)
    except bench.UnknownBenchmarkError:
        err.print(f"[red]error:[/] no benchmark named {name!r}; known: {', '.join(bench.available())}")
        raise typer.Exit(2) from None
    except ValueError as exc:  # --store given to a benchmark that takes none, or a bad store URL
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(bench.as_json_line(name, figures) + "\n")
        return
    table = Table("figure", "value", "unit", "target", "met", title=f"bench {name}")
    for f in figures:
        target = "" if f.target is None else f"{'>=' if f.better == 'higher' else '<='} {f.target:g}"
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: ""}[f.met]
        table.add_row(f.name, f"{f.value:,.3f}".rstrip("0").rstrip("."), f.unit, target, met)
    out.print(table)


def main() -> None:
    """Entry point of the console script."""
    app()


if __name__ == "__main__":
    main()
