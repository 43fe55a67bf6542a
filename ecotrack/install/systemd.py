"""The systemd unit of the ecotrack daemon and the steps that install, remove or inspect it.

The unit runs ``ecotrack run`` as its own system user ``ecotrack`` (in group ``dialout`` for the RS485
adapters), keeps its data in ``StateDirectory=`` (``/var/lib/ecotrack``, private to the user) and reads
``/etc/ecotrack/ecotrack.yaml``. It is hardened: no new privileges, a read-only system, no home
directories, only serial devices, only Unix and IP sockets. ``contrib/systemd/ecotrack.service`` is
:func:`render_unit` with the default paths (a test keeps them equal and runs ``systemd-analyze verify``).

The steps are data (:class:`Step`: a description and either an argv list or a file to write), so
``ecotrack service install --dry-run`` prints exactly what a real install runs; commands are executed
without a shell.
"""

from __future__ import annotations

import os
import pwd
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CONFIG_PATH",
    "DATA_DIR",
    "DEFAULT_EXECUTABLE",
    "SERVICE_NAME",
    "UNIT_PATH",
    "USER",
    "Step",
    "executable_problems",
    "install_steps",
    "render_unit",
    "run_steps",
    "uninstall_steps",
]

SERVICE_NAME = "ecotrack.service"
USER = "ecotrack"
CONFIG_PATH = Path("/etc/ecotrack/ecotrack.yaml")
DATA_DIR = Path("/var/lib/ecotrack")
UNIT_PATH = Path("/etc/systemd/system") / SERVICE_NAME
#: Where the README's Raspberry Pi instructions install ecotrack (a venv outside any home directory).
DEFAULT_EXECUTABLE = Path("/opt/ecotrack/bin/ecotrack")

#: Serial devices an RS485 or P1 adapter shows up as (USB adapters, CDC-ACM, the Pi's UARTs).
SERIAL_DEVICE_GROUPS = ("char-ttyUSB", "char-ttyACM", "char-ttyAMA", "char-ttyS")


def render_unit(executable: Path = DEFAULT_EXECUTABLE, config: Path = CONFIG_PATH) -> str:
    """The unit file running ``executable run`` with ``config`` as the system user ``ecotrack``."""
    devices = "\n".join(f"DeviceAllow={group} rw" for group in SERIAL_DEVICE_GROUPS)
    return f"""\
# ecotrack as a system service. Written by `ecotrack service install`; edit the configuration, not this file:
#   {config}                 (check it with: ecotrack config check {config})
#   journalctl -u ecotrack -f                    (its log)
[Unit]
Description=ecotrack: EV charging from solar surplus
After=network-online.target mosquitto.service
Wants=network-online.target

[Service]
Type=exec
User={USER}
Group={USER}
# RS485 and P1 adapters (/dev/ttyUSB*, /dev/ttyACM*) belong to group dialout
SupplementaryGroups=dialout
ExecStart={executable} run --config {config} --data-dir {DATA_DIR}
# On SIGTERM every charger is set to its safe current before ecotrack exits
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=10
Environment=PYTHONUNBUFFERED=1
# {DATA_DIR} (history, API token), private to the user; {config.parent} readable by it
StateDirectory=ecotrack
StateDirectoryMode=0700
ConfigurationDirectory=ecotrack
ConfigurationDirectoryMode=0750
UMask=0077

# Hardening: ecotrack needs the network, serial adapters and its own directories, nothing else
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
DevicePolicy=closed
{devices}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class Step:
    """One thing an install does: run ``argv`` (no shell), or write ``content`` to ``path`` with ``mode``.

    ``skip`` says why the step is not needed (already done); skipped steps are shown, not run.
    """

    description: str
    argv: tuple[str, ...] = ()
    path: Path | None = None
    content: str = ""
    mode: int = 0o644
    skip: str | None = None
    ok_codes: tuple[int, ...] = field(default=(0,))

    def show(self) -> str:
        """The step as a line a person can read (and type, for commands)."""
        what = f"write {self.path} (mode {self.mode:04o})" if self.path is not None else shlex.join(self.argv)
        done = f"   [skipped: {self.skip}]" if self.skip else ""
        return f"{self.description}: {what}{done}" if self.description else f"   and: {what}{done}"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def install_steps(
    executable: Path,
    config: Path = CONFIG_PATH,
    unit_path: Path = UNIT_PATH,
) -> list[Step]:
    """Create the user and the configuration directory, write the unit, reload systemd, enable the service."""
    user_skip = f"user {USER} exists" if _user_exists(USER) else None
    return [
        Step(
            f"create the system user {USER} (in group dialout for RS485 adapters)",
            argv=(
                "useradd", "--system", "--user-group", "--groups", "dialout",
                "--home-dir", str(DATA_DIR), "--no-create-home", "--shell", "/usr/sbin/nologin", USER,
            ),
            skip=user_skip,
        ),
        Step(
            "create the configuration directory",
            argv=("install", "-d", "-m", "0750", "-o", "root", "-g", USER, str(config.parent)),
            skip=f"{config.parent} exists" if config.parent.is_dir() else None,
        ),
        Step(
            "let the service read the configuration (it may hold passwords: group ecotrack, not world)",
            argv=("chown", f"root:{USER}", str(config)),
            skip=None if config.exists() else f"{config} does not exist yet",
        ),
        Step(
            "",
            argv=("chmod", "0640", str(config)),
            skip=None if config.exists() else f"{config} does not exist yet",
        ),
        Step("write the unit", path=unit_path, content=render_unit(executable, config), mode=0o644),
        Step("reload systemd", argv=("systemctl", "daemon-reload")),
        Step("start ecotrack at boot", argv=("systemctl", "enable", SERVICE_NAME)),
    ]


def uninstall_steps(unit_path: Path = UNIT_PATH) -> list[Step]:
    """Stop and disable the service, remove the unit; the user, configuration and data stay."""
    present = unit_path.exists()
    gone = None if present else f"{unit_path} is not there"
    return [
        Step("stop ecotrack and do not start it at boot", argv=("systemctl", "disable", "--now", SERVICE_NAME),
             skip=gone),
        Step("remove the unit", argv=("rm", "-f", "--", str(unit_path)), skip=gone),
        Step("reload systemd", argv=("systemctl", "daemon-reload")),
    ]


def executable_problems(executable: Path) -> list[str]:
    """Why the service could not start ``executable`` (empty: it can)."""
    problems = []
    if not executable.is_absolute():
        problems.append(f"{executable} is not an absolute path")
    elif not os.access(executable, os.X_OK):
        problems.append(f"{executable} is not an executable file")
    home_dirs = (Path("/home"), Path("/root"), Path("/run/user"))
    if any(executable.is_relative_to(h) for h in home_dirs):
        problems.append(
            f"{executable} is under a home directory, which the service cannot see (ProtectHome=yes) and "
            "whose owner could change what runs: install ecotrack in /opt, e.g. "
            "sudo python3 -m venv /opt/ecotrack && sudo /opt/ecotrack/bin/pip install ecotrack"
        )
    return problems


def run_steps(steps: Sequence[Step], echo: Callable[[str], None] = print) -> None:
    """Carry out ``steps`` in order (raising :class:`subprocess.CalledProcessError` or :class:`OSError`)."""
    for step in steps:
        echo(step.show())
        if step.skip:
            continue
        if step.path is not None:
            step.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = step.path.with_name(step.path.name + ".tmp")
            tmp.write_text(step.content)
            tmp.chmod(step.mode)
            tmp.replace(step.path)
        else:
            proc = subprocess.run(list(step.argv), check=False, capture_output=True, text=True)
            if proc.returncode not in step.ok_codes:
                raise subprocess.CalledProcessError(proc.returncode, list(step.argv), proc.stdout, proc.stderr)
