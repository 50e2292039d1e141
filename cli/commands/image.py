"""`transom image ...`: build the flashable edge image; apply an update bundle on a device."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from cli.console import err, out

app = typer.Typer(help="Build the edge image; update a device.", no_args_is_help=True)


@app.command(name="build", context_settings={"help_option_names": ["-h", "--help"]})
def build(
    out_dir: Path = typer.Option(
        ..., "--out", help="Folder for the image, its kernel/initrd and the update bundle."
    ),
    arch: str = typer.Option("amd64", "--arch", help="CPU architecture (amd64; arm64 is not built yet)."),
    cloud: str = typer.Option("", "--cloud", help="The cloud's URL the node enrols with on first boot."),
    enrolment_token: str = typer.Option(
        "", "--enrolment-token", help="A one-time token from `transom cloud enrol-token`."
    ),
    pin: str = typer.Option(
        "", "--pin", help="SHA-256 fingerprint of the cloud's TLS certificate, to pin it."
    ),
    allow_http: bool = typer.Option(
        False, "--allow-http", help="Let enrolment use plain HTTP to a non-loopback cloud (tests only)."
    ),
    cache: Path | None = typer.Option(
        None, "--cache", help="Base-system cache (default ~/.cache/transom/image)."
    ),
    no_compress: bool = typer.Option(False, "--no-compress", help="Skip the .zst copy of the image."),
) -> None:
    """Build a Debian 12 edge image (needs root): OUT/transom-edge.raw for dd, plus an update bundle.

    The first build downloads Debian (minutes); later builds reuse the cached base system.

    Example:

        sudo transom image build --out ./out --cloud https://cloud.example --enrolment-token enr-...
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from image.build import STAGES, BuildOptions
    from image.build import build as run_build
    from image.errors import ImageBuildFailed

    options = BuildOptions(
        out=out_dir,
        arch=arch,
        cloud=cloud,
        enrolment_token=enrolment_token,
        pin=pin,
        allow_http=allow_http,
        compress=not no_compress,
    )
    if cache is not None:
        options.cache = cache
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        tasks: dict[str, object] = {}
        current: list[str] = []

        def progress(stage: str) -> None:
            if current:
                bar.update(tasks[current[0]], completed=1, total=1)  # type: ignore[arg-type]
            current[:] = [stage]
            number = STAGES.index(stage) + 1 if stage in STAGES else 0
            tasks[stage] = bar.add_task(f"[{number}/{len(STAGES)}] {stage}", total=None)

        try:
            result = run_build(options, progress)
        except ImageBuildFailed as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None
        if current:
            bar.update(tasks[current[0]], completed=1, total=1)  # type: ignore[arg-type]
    size = result.image.stat().st_size / 2**20
    out.print(f"image {result.image} ({size:,.0f} MiB), build {result.build_id}")
    if result.compressed is not None:
        out.print(f"compressed {result.compressed} ({result.compressed.stat().st_size / 2**20:,.0f} MiB)")
    out.print(f"update bundle {result.bundle}")


@app.command(name="update", context_settings={"help_option_names": ["-h", "--help"]})
def update(
    bundle: Path = typer.Argument(
        ..., help="An update bundle (transom-update.tar from `transom image build`)."
    ),
    reboot: bool = typer.Option(False, "--reboot", help="Reboot into the new version when written."),
) -> None:
    """On a device: write an update to the other root slot, boot it next (rolls back if unhealthy).

    Example:

        transom image update /media/usb/transom-update.tar --reboot
    """
    from image.device.update import UpdateFailed, apply_bundle

    try:
        generation = apply_bundle(bundle)
    except UpdateFailed as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    out.print(f"update written as generation {generation}; it boots next (falls back if unhealthy)")
    if reboot:
        import subprocess

        subprocess.run(["systemctl", "reboot"], check=False)
