"""Add `__all__` to the public modules of `lvsbench/` that lack it (docs/architecture.md, "Module size and public
names"; checked by tests/test_architecture.py).

`__all__` lists, sorted, the public names a module defines at top level (functions, classes, assigned names,
including those under a top-level `if` / `try`), not the names it imports; a package's `__init__.py` also lists
the names it imports from its own package (its re-exports). A module is public when no part of its dotted name
starts with `_`; one that defines no public name gets nothing. The list is appended at the end of the file, where
the modules that have one keep it.

    python scripts/add_all.py              # print what would be added
    python scripts/add_all.py --write      # add it (run once, when nobody else is editing lvsbench/)
"""

from __future__ import annotations

import argparse
import ast
import os
import tempfile
from pathlib import Path

__all__ = ["defined_names", "has_all", "main", "render", "reexported_names", "targets"]

ROOT = Path(__file__).resolve().parents[1]
LINE_LENGTH = 120


def _dotted(path: Path, top: Path) -> str:
    parts = list(path.relative_to(top).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def has_all(tree: ast.Module) -> bool:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign | ast.AugAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return True
    return False


def _bound(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for elt in target.elts for n in _bound(elt)]
    if isinstance(target, ast.Starred):
        return _bound(target.value)
    return []


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements of the module body, including those nested in top-level `if` / `try` (not TYPE_CHECKING)."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                out += _top_level(node.body)
            out += _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            out += _top_level(node.body)
            for handler in node.handlers:
                out += _top_level(handler.body)
            out += _top_level(node.orelse) + _top_level(node.finalbody)
        else:
            out.append(node)
    return out


def defined_names(tree: ast.Module) -> set[str]:
    """Public names the module defines (not imports)."""
    names: set[str] = set()
    for node in _top_level(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(n for t in node.targets for n in _bound(t))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            names.update(_bound(node.target))
    return {n for n in names if not n.startswith("_")}


def reexported_names(tree: ast.Module, package: str) -> set[str]:
    """Public names an `__init__.py` imports from its own package (absolute or relative imports)."""
    names: set[str] = set()
    for node in _top_level(tree.body):
        if not isinstance(node, ast.ImportFrom):
            continue
        own = node.level > 0 or (node.module or "").startswith(package + ".")
        if own:
            names.update(alias.asname or alias.name for alias in node.names if alias.name != "*")
    return {n for n in names if not n.startswith("_")}


def render(names: list[str]) -> str:
    """`__all__ = [...]` filled to 120 columns, continuation lines aligned under the first name."""
    lines, line = [], "__all__ = ["
    for k, n in enumerate(names):
        item = f'"{n}"' + ("]" if k == len(names) - 1 else ",")
        if len(line) + len(item) + 1 > 120 and line.strip() not in ("__all__ = [",):
            lines.append(line.rstrip())
            line = " " * 11
        line += item + ("" if k == len(names) - 1 else " ")
    if not names:
        line += "]"
    lines.append(line)
    return "\n".join(lines) + "\n"


def targets(root: Path) -> list[tuple[Path, list[str]]]:
    """(module, names) of every public module under `root` that lacks `__all__` and defines public names."""
    out = []
    for path in sorted(root.rglob("*.py")):
        name = _dotted(path, root.parent)
        if any(part.startswith("_") for part in name.split(".")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if has_all(tree):
            continue
        names = defined_names(tree)
        if path.name == "__init__.py":
            names |= reexported_names(tree, name)
        if names:
            out.append((path, sorted(names)))
    return out


def _append(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8")
    new = text.rstrip("\n") + "\n\n\n" + block
    ast.parse(new, filename=str(path))  # never write a module that does not parse
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new)
    os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=ROOT / "lvsbench", help="folder (default lvsbench/)")
    parser.add_argument("--write", action="store_true", help="add the lists (default: only print them)")
    args = parser.parse_args()
    found = targets(args.root.resolve())
    for path, names in found:
        print(f"{path.relative_to(args.root.resolve().parent)}: {', '.join(names)}")
        if args.write:
            _append(path, render(names))
    print(f"{len(found)} module(s) {'updated' if args.write else 'lack __all__ (rerun with --write to add it)'}")


if __name__ == "__main__":
    main()
