"""The built wheel installs and runs on its own: ``pip install ecotrack`` works, dashboard included.

The wheel is built once (``python -m build --wheel --no-isolation``) from a copy of the tracked files, so the
worktree gets no ``build/`` and the wheel holds only what the repository holds. It is installed with
``--no-deps`` into a fresh venv whose dependencies come from the dev venv's site-packages (added as a plain
path, so the dev venv's editable ecotrack is *not* visible): offline and fast, yet ``ecotrack`` is imported
from the installed wheel only (checked).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "ecotrack" / "services" / "web" / "static"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    @property
    def ecotrack(self) -> Path:
        return self.venv / "bin" / "ecotrack"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def _clean_env() -> dict[str, str]:
    """The environment without PYTHONPATH: the source tree must not stand in for the installed wheel."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def _tracked_copy(dest: Path) -> Path:
    """A copy of the files git tracks (plus untracked, not ignored ones: work in progress builds too)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: everything but caches
        files = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not {".venv", "node_modules", ".git", "__pycache__"} & set(p.parts)
        ]
    for rel in files:
        src = ROOT / rel
        if rel.startswith(("web/node_modules/", ".venv/")) or not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    pytest.importorskip("build", reason="the dev extra's 'build' is not installed")
    base = tmp_path_factory.mktemp("wheel")
    src = _tracked_copy(base / "src")
    dist = base / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)],
        check=True,
        capture_output=True,
        timeout=120,
        env=_clean_env(),
    )
    (wheel,) = dist.glob("ecotrack-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
         "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
        env=_clean_env(),
    )
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        env=_clean_env(),
    ).stdout.strip()
    # The dependencies: the dev venv's site-packages as a plain path (its .pth files, among them the
    # editable ecotrack, are not processed from a path line).
    (Path(purelib) / "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    yield Installed(wheel, venv)


def test_wheel_holds_the_dashboard_bundle(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    bundle = sorted(str(p.relative_to(ROOT)) for p in STATIC.rglob("*") if p.is_file())
    assert "ecotrack/services/web/static/index.html" in bundle
    missing = [f for f in bundle if f not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert "ecotrack/py.typed" in names


def test_installed_version_runs_from_the_wheel(installed: Installed, tmp_path: Path) -> None:
    out = subprocess.run(
        [str(installed.ecotrack), "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env=_clean_env(),
    )
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"ecotrack \d+\.\d+\.\d+\S*\n", out.stdout)
    where = subprocess.run(
        [str(installed.python), "-c", "import ecotrack; print(ecotrack.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        env=_clean_env(),
    ).stdout
    assert where.startswith(str(installed.venv)), f"ecotrack imported from {where}, not the wheel"


def test_installed_demo_serves_the_dashboard(installed: Installed, tmp_path: Path) -> None:
    """``ecotrack demo --duration 5`` from the wheel: it starts, serves the bundled page and stops by itself."""
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [str(installed.ecotrack), "demo", "--duration", "5", "--port", "0", "--data-dir", str(data)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_clean_env(),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    page = script = ""
    deadline = time.monotonic() + 40
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"web dashboard and API on (http://127\.0\.0\.1:\d+/)", line)
        if m and not page:
            with urllib.request.urlopen(m.group(1), timeout=5) as resp:
                page = resp.read().decode()
            src = re.search(r'src="(assets/app-[^"]+\.js)"', page)
            if src:
                with urllib.request.urlopen(m.group(1) + src.group(1), timeout=5) as resp:
                    script = resp.read().decode()
        if time.monotonic() > deadline:
            proc.kill()
            break
    rc = proc.wait(timeout=30)
    log = "".join(lines)
    assert rc == 0, log
    assert "<html" in page.lower(), page[:500]
    assert len(script) > 1000, "the dashboard's script was not served from the installed package"
    assert "engine stopped" in log
    assert (data / "ecotrack.db").exists()
