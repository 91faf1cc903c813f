"""What the package imports is what pyproject.toml declares, through public modules only."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports() -> dict[str, set[str]]:
    """Every module qa imports from outside itself and the standard library -> the files."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "qa").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "qa" and top not in sys.stdlib_module_names:
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_norm(re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0]) for dep in project["dependencies"]}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_declared() -> None:
    dists = packages_distributions()
    declared = _declared()
    missing = {
        name: sorted(files)
        for name, files in _imports().items()
        if not {_norm(d) for d in dists.get(name.split(".")[0], [])} & declared
    }
    assert not missing, f"imported but not in pyproject.toml dependencies: {missing}"


def test_no_private_module_of_another_package_is_imported() -> None:
    private = {
        name: sorted(files)
        for name, files in _imports().items()
        if any(part.startswith("_") for part in name.split(".")[1:])
    }
    assert not private, f"private modules of other packages: {private}"
