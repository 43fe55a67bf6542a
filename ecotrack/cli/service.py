"""``ecotrack service install | uninstall | status``: run ecotrack as a systemd service.

The unit and the steps are :mod:`ecotrack.install.systemd`'s; this module finds the installed ``ecotrack``
executable, refuses a real install without root, prints the steps (``--dry-run`` stops there) or runs them,
and says what to do next.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ecotrack.install.systemd import Step

__all__ = ["service_app"]

service_app = typer.Typer(
    help=(
        "Run ecotrack as a systemd service: its own user (in group dialout for RS485 adapters), the "
        "configuration in /etc/ecotrack, data in /var/lib/ecotrack, restarted on failure.\n\n"
        "Example: [bold]sudo /opt/ecotrack/bin/ecotrack service install[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)

_DRY_RUN = typer.Option("--dry-run", help="Print the unit and the steps without doing anything.")
_CONFIG = typer.Option("--config", "-c", help="The configuration file the service reads.")


def _installed_executable() -> Path:
    """The ``ecotrack`` script of this installation: next to the running Python, else on PATH."""
    beside = Path(sys.executable).parent / "ecotrack"
    if beside.is_file():
        return beside
    found = shutil.which("ecotrack")
    return Path(found).absolute() if found else beside


def _need_root(action: str) -> None:
    if os.geteuid() != 0:
        typer.echo(
            f"ecotrack service {action} changes system files (users, /etc/systemd) and needs root: run it "
            f"with sudo, e.g. sudo {_installed_executable()} service {action} "
            f"(or add --dry-run to see what it would do).",
            err=True,
        )
        raise typer.Exit(1)


def _run(steps: Sequence[Step], action: str) -> None:
    from ecotrack.install.systemd import run_steps

    try:
        run_steps(steps, echo=typer.echo)
    except subprocess.CalledProcessError as e:
        detail = (e.stderr or e.stdout or "").strip()
        typer.echo(f"{action} failed: {' '.join(map(str, e.cmd))} exited {e.returncode}: {detail}", err=True)
        raise typer.Exit(1) from None
    except OSError as e:
        typer.echo(f"{action} failed: {e}", err=True)
        raise typer.Exit(1) from None


@service_app.command("install")
def install_command(
    dry_run: Annotated[bool, _DRY_RUN] = False,
    config: Annotated[Path | None, _CONFIG] = None,
    executable: Annotated[
        Path | None,
        typer.Option(help="The ecotrack executable the service starts; default: this installation's."),
    ] = None,
) -> None:
    """Install ecotrack as a service: create the user ecotrack, /etc/ecotrack, write /etc/systemd/system/ecotrack.service, reload systemd and enable it.

    The service runs [bold]ecotrack run --config /etc/ecotrack/ecotrack.yaml[/bold]. Install ecotrack outside any home directory first (the service cannot see homes), e.g. in /opt/ecotrack. Needs root; [bold]--dry-run[/bold] prints the unit and the steps and changes nothing.

    Example: [bold]sudo /opt/ecotrack/bin/ecotrack service install[/bold]
    """
    from ecotrack.install.systemd import CONFIG_PATH, executable_problems, install_steps

    exe = (executable or _installed_executable()).absolute()
    cfg = (config or CONFIG_PATH).absolute()
    problems = executable_problems(exe)
    steps = install_steps(exe, cfg)
    if dry_run:
        unit = next(s for s in steps if s.path is not None)
        typer.echo(f"# {unit.path}\n{unit.content}")
        typer.echo("Steps (dry run, nothing done):")
        for i, step in enumerate(steps, 1):
            typer.echo(f"  {i}. {step.show()}")
        for problem in problems:
            typer.echo(f"warning: a real install would refuse: {problem}", err=True)
        _next_steps(cfg)
        return
    if problems:
        for problem in problems:
            typer.echo(f"cannot install: {problem}", err=True)
        raise typer.Exit(1)
    _need_root("install")
    _run(steps, "install")
    typer.echo("ecotrack is installed as a service.")
    _next_steps(cfg)


def _next_steps(config: Path) -> None:
    exe = _installed_executable()
    lines = ["Next:"]
    if not config.exists():
        lines.append(f"  sudo {exe} init -o {config}      # answer a few questions, or copy an example there")
        lines.append(f"  sudo {exe} service install        # again, so the service may read it")
    lines += [
        f"  sudo {exe} config check {config}",
        "  sudo systemctl start ecotrack",
        "  journalctl -u ecotrack -f                # its log; the dashboard: http://localhost:8080/ (http.host: 0.0.0.0 opens it to the network)",
    ]
    typer.echo("\n".join(lines))


@service_app.command("uninstall")
def uninstall_command(dry_run: Annotated[bool, _DRY_RUN] = False) -> None:
    """Stop and disable the service and remove its unit. The user, /etc/ecotrack and /var/lib/ecotrack stay.

    Example: [bold]sudo ecotrack service uninstall[/bold]
    """
    from ecotrack.install.systemd import CONFIG_PATH, DATA_DIR, USER, uninstall_steps

    steps = uninstall_steps()
    if dry_run:
        typer.echo("Steps (dry run, nothing done):")
        for i, step in enumerate(steps, 1):
            typer.echo(f"  {i}. {step.show()}")
    else:
        _need_root("uninstall")
        _run(steps, "uninstall")
        typer.echo("The ecotrack service is removed.")
    typer.echo(
        f"Kept: the user {USER}, the configuration in {CONFIG_PATH.parent} and the history in {DATA_DIR}. "
        f"To remove them too: sudo userdel {USER} && sudo rm -r {CONFIG_PATH.parent} {DATA_DIR}"
    )


@service_app.command("status")
def status_command(dry_run: Annotated[bool, _DRY_RUN] = False) -> None:
    """Say whether the service is installed, up to date, enabled and running, and whether its configuration passes the check.

    Exits 0 when it runs, 3 when it is installed but not running, 4 when it is not installed.

    Example: [bold]ecotrack service status[/bold]
    """
    from ecotrack.install.systemd import CONFIG_PATH, SERVICE_NAME, UNIT_PATH, render_unit

    queries = [("enabled", ["systemctl", "is-enabled", SERVICE_NAME]),
               ("running", ["systemctl", "is-active", SERVICE_NAME])]
    if dry_run:
        typer.echo("Would look at:")
        typer.echo(f"  {UNIT_PATH} (present, the same as `ecotrack service install` writes)")
        typer.echo(f"  {CONFIG_PATH} (present, passes `ecotrack config check`)")
        for _, argv in queries:
            typer.echo("  " + " ".join(argv))
        return
    installed = UNIT_PATH.is_file()
    typer.echo(f"unit:          {UNIT_PATH}: {'installed' if installed else 'not installed'}")
    if installed:
        current = UNIT_PATH.read_text()
        fresh = render_unit(_installed_executable(), CONFIG_PATH)
        if current != fresh:
            typer.echo("               differs from what this version writes: sudo ecotrack service install")
    answers: dict[str, str] = {}
    for name, argv in queries:
        if shutil.which(argv[0]) is None:
            answers[name] = "unknown (no systemctl)"
        else:
            answers[name] = _ask_systemctl(argv)
        typer.echo(f"{name + ':':<15}{answers[name]}")
    typer.echo(f"configuration: {CONFIG_PATH}: {_config_state(CONFIG_PATH)}")
    if answers.get("running") == "active":
        return
    raise typer.Exit(3 if installed else 4)


def _ask_systemctl(argv: list[str]) -> str:
    """systemctl's one-word answer (or its first error line)."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=15)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"
    out = proc.stdout.strip() or proc.stderr.strip() or f"exit {proc.returncode}"
    return out.splitlines()[0]


def _config_state(path: Path) -> str:
    if not path.exists():
        return f"missing (write one: sudo ecotrack init -o {path})"
    from ecotrack.config_load import ConfigError, load_config

    try:
        load_config(path)
    except ConfigError as e:
        return f"{len(e.issues)} problem(s): ecotrack config check {path}"
    except OSError as e:
        return f"unreadable: {e}"
    return "passes the check"
