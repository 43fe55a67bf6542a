"""The committed dashboard bundle: present, referenced by index.html, local-only, and built from the
current sources (web/). Rebuild with `make web` when a source changes."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ecotrack.services.web.app import STATIC_DIR

WEB = Path(__file__).resolve().parents[2] / "web"


def build_info() -> dict[str, object]:
    info: dict[str, object] = json.loads((STATIC_DIR / "build-info.json").read_text())
    return info


def test_index_references_the_bundle_that_exists() -> None:
    info = build_info()
    html = (STATIC_DIR / "index.html").read_text()
    for key in ("app_js", "app_css"):
        name = str(info[key])
        assert (STATIC_DIR / name).is_file(), name
        assert f'"{name}"' in html, f"index.html does not reference {name}"
        assert re.fullmatch(r"assets/app-[A-Z0-9]+\.(js|css)", name)
    referenced = set(re.findall(r'(?:src|href)="([^"]+)"', html))
    external = {r for r in referenced if re.match(r"^(https?:)?//", r)}
    assert not external, f"the dashboard must not load anything from the internet: {external}"
    stray = {p.name for p in (STATIC_DIR / "assets").glob("app-*")} - {
        Path(str(info[k])).name for k in ("app_js", "app_css")
    }
    assert not stray, f"old bundles left in static/assets: {stray}"
    assert info["uplot"], "the chart library is part of the bundle"
    assert (STATIC_DIR / "docs" / "swagger-ui-bundle.js").is_file()


def test_the_bundle_was_built_from_the_current_sources() -> None:
    """Same hash as web/build.mjs computes: sha256 over 'path NUL content NUL' of each source file."""
    info = build_info()
    sources = [str(s) for s in info["sources"]]  # type: ignore[attr-defined]
    on_disk = sorted(
        [p.relative_to(WEB).as_posix() for p in (WEB / "src").rglob("*") if p.is_file()]
        + ["build.mjs", "package.json", "package-lock.json"]
    )
    assert sources == on_disk, "a source file was added or removed since the last build: run make web"
    h = hashlib.sha256()
    for rel in sources:
        h.update(rel.encode() + b"\0")
        h.update((WEB / rel).read_bytes())
        h.update(b"\0")
    assert h.hexdigest() == info["sources_sha256"], (
        "web/ changed since the last build: run make web and commit"
    )


@pytest.mark.skipif(
    shutil.which("node") is None or not (WEB / "node_modules" / "esbuild").is_dir(),
    reason="needs node and web/node_modules (make web) to rebuild and compare byte for byte",
)
def test_a_fresh_build_matches_the_committed_files() -> None:
    result = subprocess.run(
        ["node", "build.mjs", "--check"], cwd=WEB, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
