"""The house's import graph: no cycles between files, none between top-level folders.

Every import counts (inside functions and under ``TYPE_CHECKING`` too). The layer contracts themselves are
import-linter's (``[tool.importlinter]`` in pyproject.toml, run by ``make test``); see docs/architecture.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_cycles", ROOT / "scripts" / "import_cycles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_cycles", module)
    spec.loader.exec_module(module)
    return module


def test_the_cycle_finder_finds_cycles() -> None:
    ic = _script()
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert ic.cycles(graph) == [["a", "b", "c"]]
    assert ic.folder_graph({"p.x.m": {"p.y.n"}, "p.y.n": {"p.x.k"}, "p.x.k": set()}) == {
        "p.x": {"p.y"},
        "p.y": {"p.x"},
    }


def test_no_import_cycles_between_files() -> None:
    ic = _script()
    found = ic.cycles(ic.file_graph(ROOT / "ecotrack"))
    assert not found, f"import cycles between files: {found}"


def test_no_import_cycles_between_top_level_folders() -> None:
    ic = _script()
    found = ic.cycles(ic.folder_graph(ic.file_graph(ROOT / "ecotrack")))
    assert not found, (
        f"import cycles between top-level folders: {found} (python scripts/import_cycles.py shows the edges)"
    )
