"""The package layout of docs/architecture.md, checked on the source (issue #13).

Every module of `lvsbench/` is parsed with `ast` (nothing is imported, so this runs in well under a second). An
import edge is any `import lvsbench.x` or `from lvsbench.x import y` (`y` counts as the submodule `lvsbench.x.y`
when that file exists), at module level or inside a function; imports under `if TYPE_CHECKING:` are exempt
(they never run). "module:attr" strings that a registry imports on demand are not edges (docs/architecture.md,
"Layers").

Checks: no cycle between modules, no cycle between packages, no import from a lower layer to a higher one (the
ranks are read from the layers table of docs/architecture.md, so the doc is the single source), no module
over MAX_LINES lines without a `Size:` line in its docstring saying why, and `__all__` in every public module
that defines public names (the rule of scripts/add_all.py, which writes the missing ones).

`python tests/test_architecture.py` prints every finding, without pytest.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "lvsbench"
DOC = ROOT / "docs" / "architecture.md"
MAX_LINES = 500
SIZE_MARKER = "Size:"


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, dotted
    target: str  # imported module, dotted
    line: int
    lazy: bool  # inside a function (runs on call, still a dependency)


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: int
    edges: list[Edge] = field(default_factory=list)

    @property
    def package(self) -> str:
        return package_of(self.name)


def package_of(module: str) -> str:
    """`lvsbench.scoring.evaluate` -> `scoring`; `lvsbench.protocols` -> `protocols`; `lvsbench` -> `lvsbench`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest prefix of dotted `name` that is a module of lvsbench (None outside lvsbench)."""
    parts = name.split(".")
    if parts[0] != "lvsbench":
        return None
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def _imports(mod: Module, known: set[str]) -> list[Edge]:
    is_package = mod.path.name == "__init__.py"
    edges: list[Edge] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child, lazy)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, known)
                if target is not None:
                    edges.append(Edge(mod.name, target, node.lineno, lazy))
            return
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package of this module, `level` dots up
                anchor = mod.name.split(".") if is_package else mod.name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                target = _resolve(f"{base}.{alias.name}", known) if alias.name != "*" else None
                if target is None or target != f"{base}.{alias.name}":
                    target = _resolve(base, known)
                if target is not None:
                    edges.append(Edge(mod.name, target, node.lineno, lazy))
            return
        inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(mod.tree, False)
    return list(dict.fromkeys(e for e in edges if e.target != mod.name))  # one edge per (target, line)


@cache
def modules() -> dict[str, Module]:
    out: dict[str, Module] = {}
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = module_name(path)
        out[name] = Module(name, path, ast.parse(text, filename=str(path)), len(text.splitlines()))
    known = set(out)
    for mod in out.values():
        mod.edges = _imports(mod, known)
    return out


@cache
def layers() -> dict[str, int]:
    """Package -> rank, from the table of the "## Layers" section of docs/architecture.md (`| rank | packages |
    may import |`). The "may import" column is for readers; it is checked to say what the ranks imply."""
    section = re.search(r"^## Layers\n(.*?)(?=^## |\Z)", DOC.read_text(encoding="utf-8"), re.S | re.M)
    assert section, f"{DOC}: no '## Layers' section"
    rows = re.findall(r"^\|\s*(\d+)\s*\|([^|]*)\|([^|]*)\|\s*$", section.group(1), re.M)
    assert rows, f"{DOC}: no layers table (| rank | packages | may import |) under '## Layers'"
    ranks: dict[str, int] = {}
    below: list[str] = []
    for number, packages, may_import in rows:
        rank = int(number)
        assert rank == len({*ranks.values()}), f"{DOC}: layer ranks must be 0, 1, 2, ... in order (got {rank})"
        names = [p for p in re.split(r"[\s,]+", packages.strip()) if p]
        for name in names:
            assert name not in ranks, f"{DOC}: {name} listed twice in the layers table"
            ranks[name] = rank
        assert _allowed(may_import, ranks) == set(below), (
            f"{DOC}: rank {rank} 'may import' says {may_import.strip()!r}, the ranks imply {sorted(below)}")
        below.extend(names)
    return ranks


def _allowed(text: str, ranks: dict[str, int]) -> set[str]:
    """The packages a "may import" cell names: "ranks 0-3", a list of packages, or "(nothing ...)"."""
    text = text.strip()
    span = re.fullmatch(r"ranks? (\d+)-(\d+)", text)
    if span:
        lo, hi = int(span.group(1)), int(span.group(2))
        return {p for p, r in ranks.items() if lo <= r <= hi}
    if text.startswith("("):
        return set()
    return {p for p in re.split(r"[\s,]+", text) if p}


def _sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def _cycle_in(comp: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One concrete cycle through the first node of a component (shortest, by breadth-first search)."""
    members = set(comp)
    start = comp[0]
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if child not in parent:
                    parent[child] = node
                    nxt.append(child)
        frontier = nxt
    return comp


def module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for mod in modules().values():
        for edge in mod.edges:
            graph[mod.name].add(edge.target)
    return graph


def package_edges() -> dict[tuple[str, str], list[Edge]]:
    out: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for mod in modules().values():
        for edge in mod.edges:
            key = (package_of(edge.source), package_of(edge.target))
            if key[0] != key[1]:
                out[key].append(edge)
    return out


def _where(edge: Edge) -> str:
    path = modules()[edge.source].path.relative_to(ROOT)
    return f"{path}:{edge.line} -> {edge.target}{' (in a function)' if edge.lazy else ''}"


def module_cycles() -> list[str]:
    graph = module_graph()
    return [" -> ".join(_cycle_in(comp, graph)) + f"  [{len(comp)} modules: {', '.join(comp)}]"
            for comp in _sccs(graph)]


def package_cycles() -> list[str]:
    edges = package_edges()
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
        graph.setdefault(b, set())
    out = []
    for comp in _sccs(graph):
        cycle = _cycle_in(comp, graph)
        via = [f"    {a} -> {b}: {_where(edges[a, b][0])}" for a, b in zip(cycle, cycle[1:], strict=False)]
        out.append(" -> ".join(cycle) + "\n" + "\n".join(via))
    return out


def upward_imports() -> list[str]:
    rank = layers()
    out = []
    for (a, b), edges in sorted(package_edges().items()):
        if a in rank and b in rank and rank[a] <= rank[b]:
            how = "a higher" if rank[a] < rank[b] else "the same"
            out.extend(f"{a} (rank {rank[a]}) imports {b} ({how} rank {rank[b]}): {_where(e)}" for e in edges)
    return out


def unranked_packages() -> list[str]:
    present = {m.package for m in modules().values()} - {"lvsbench"}
    rank = layers()
    root = [f"lvsbench/__init__.py imports {e.target} (it must import nothing of lvsbench)"
            for e in modules()["lvsbench"].edges]
    return root + [f"{p}: in lvsbench/ but not in the layers table" for p in sorted(present - set(rank))] + [
        f"{p}: in the layers table but not in lvsbench/" for p in sorted(set(rank) - present)]


def oversized() -> list[str]:
    out = []
    for mod in modules().values():
        if mod.lines <= MAX_LINES:
            continue
        doc = ast.get_docstring(mod.tree) or ""
        if not any(line.strip().startswith(SIZE_MARKER) for line in doc.splitlines()):
            out.append(f"{mod.path.relative_to(ROOT)}: {mod.lines} lines, no '{SIZE_MARKER}' line in its docstring")
    return out


def _add_all() -> ModuleType:
    """scripts/add_all.py, whose rule for which modules need `__all__` this test shares."""
    spec = importlib.util.spec_from_file_location("add_all", ROOT / "scripts" / "add_all.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def missing_all() -> list[str]:
    return [f"{path.relative_to(ROOT)}: {', '.join(names)}" for path, names in _add_all().targets(SRC)]


def _fail(title: str, items: list[str]) -> None:
    if items:
        pytest.fail(f"{title} ({len(items)}):\n" + "\n".join(items), pytrace=False)


def test_every_package_has_a_layer() -> None:
    _fail("packages and the layers table of docs/architecture.md disagree", unranked_packages())


def test_no_module_cycles() -> None:
    _fail("import cycles between modules", module_cycles())


def test_no_package_cycles() -> None:
    _fail("import cycles between packages", package_cycles())


def test_no_upward_imports() -> None:
    _fail("imports from a lower layer to a higher one (docs/architecture.md)", upward_imports())


def test_no_oversized_modules() -> None:
    _fail(f"modules over {MAX_LINES} lines without a '{SIZE_MARKER}' reason in the docstring", oversized())


def test_public_modules_declare_all() -> None:
    _fail("public modules without __all__ (scripts/add_all.py adds them)", missing_all())


def test_import_parser() -> None:
    """The edge finder on a snippet: module- and function-level, submodules, relative, TYPE_CHECKING exempt."""
    src = (
        "from typing import TYPE_CHECKING\n"
        "import lvsbench.core.io\n"
        "from lvsbench.core import errors, records as r\n"
        "from lvsbench.scoring.evaluate import score\n"
        "from . import svg\n"
        "from .html import x\n"
        "if TYPE_CHECKING:\n"
        "    from lvsbench.cli import main\n"
        "def f():\n"
        "    from lvsbench.protocols import Protocol\n"
    )
    known = {"lvsbench", "lvsbench.core", "lvsbench.core.io", "lvsbench.core.errors", "lvsbench.core.records",
             "lvsbench.scoring", "lvsbench.scoring.evaluate", "lvsbench.protocols", "lvsbench.cli",
             "lvsbench.report", "lvsbench.report.svg", "lvsbench.report.html"}
    mod = Module("lvsbench.report", SRC / "report" / "__init__.py", ast.parse(src), src.count("\n"))
    got = {(e.target, e.lazy) for e in _imports(mod, known)}
    assert got == {("lvsbench.core.io", False), ("lvsbench.core.errors", False), ("lvsbench.core.records", False),
                   ("lvsbench.scoring.evaluate", False), ("lvsbench.report.svg", False),
                   ("lvsbench.report.html", False), ("lvsbench.protocols", True)}
    assert _sccs({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycle_in(["a", "b", "c"], {"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


if __name__ == "__main__":  # the full list, without pytest's truncation
    for title, found in [("unranked", unranked_packages()), ("module cycles", module_cycles()),
                         ("package cycles", package_cycles()), ("upward imports", upward_imports()),
                         ("oversized", oversized()), ("missing __all__", missing_all())]:
        print(f"## {title} ({len(found)})")
        print("\n".join(found))
