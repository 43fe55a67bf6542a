#!/usr/bin/env python3
"""Import cycles in the ecotrack package: between files, and between top-level folders.

Every import statement counts, wherever it is: at module level, inside functions, under
``if TYPE_CHECKING:``. A cycle is a strongly connected component of more than one node of the import
graph (or a module importing itself). Exit status 0 when there is none, 1 otherwise (each cycle printed).

    python scripts/import_cycles.py            # check ./ecotrack
    python scripts/import_cycles.py --root /tmp/before/ecotrack

Used by ``tests/test_architecture.py`` (so ``make test`` fails on a new cycle) and by ``make lint``.
Standard library only: it reads the source with :mod:`ast`, it imports nothing of ecotrack.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["cycles", "file_graph", "folder_graph", "main"]


def _modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the package directory ``root``."""
    package = root.name
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_package(name: str, modules: Mapping[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def _imported(name: str, tree: ast.AST, modules: Mapping[str, Path]) -> set[str]:
    """The modules of ``modules`` that the module ``name`` (parsed as ``tree``) imports."""
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    out: set[str] = set()

    def nearest(dotted: str) -> str | None:
        """``dotted`` if it is one of ours, else its closest enclosing module of ours."""
        while dotted:
            if dotted in modules:
                return dotted
            dotted = dotted.rpartition(".")[0]
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = nearest(alias.name)
                if target is not None:
                    out.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            for alias in node.names:
                # ``from a.b import c``: the module a.b.c when it exists, else a name in a.b.
                target = (
                    nearest(f"{base}.{alias.name}") if f"{base}.{alias.name}" in modules else nearest(base)
                )
                if target is not None:
                    out.add(target)
    out.discard(name)
    return out


def file_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports (ours only), for the package directory ``root``."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = _imported(name, tree, modules)
    return graph


def folder_of(module: str) -> str:
    """The top-level room of a module: ``ecotrack.core.control`` -> ``ecotrack.core``."""
    return ".".join(module.split(".")[:2])


def folder_graph(graph: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """The file graph collapsed to top-level folders (and top-level modules such as ``ecotrack.app``).

    The package's own ``__init__`` (``ecotrack``) is left out: it is the root every module lives in.
    """
    out: dict[str, set[str]] = {}
    for source, targets in graph.items():
        if "." not in source:
            continue
        room = folder_of(source)
        out.setdefault(room, set())
        for target in targets:
            if "." in target and folder_of(target) != room:
                out[room].add(folder_of(target))
    return out


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found, key=lambda c: (-len(c), c))


def _edges_within(graph: Mapping[str, Iterable[str]], component: list[str]) -> list[str]:
    members = set(component)
    return [f"{a} -> {b}" for a in component for b in sorted(graph.get(a, ())) if b in members]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent / "ecotrack")
    parser.add_argument("--quiet", action="store_true", help="Only the counts.")
    args = parser.parse_args(argv)
    files = file_graph(args.root)
    folders = folder_graph(files)
    failed = False
    for what, graph in (("files", files), ("top-level folders", folders)):
        found = cycles(graph)
        print(f"import cycles between {what}: {len(found)}")
        failed = failed or bool(found)
        if not args.quiet:
            for component in found:
                print(f"  {len(component)} modules: {', '.join(component)}")
                for edge in _edges_within(graph, component):
                    print(f"    {edge}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
