"""Every third-party package ``agent_memory`` imports at run time is declared for it.

``scripts/dev`` installs the runtime dependencies plus the ``embedded`` and ``offline``
extras; a package that only the ``dev`` extra (or some dependency, by accident) brings in
crashes a fresh machine (issue 12: ``httpx``). The answer is computed from the source and
``pyproject.toml``, never from a list kept by hand: every ``import`` outside the standard
library (bar those under ``if TYPE_CHECKING:``) must come from a distribution named in
``[project] dependencies`` or those two extras, or pulled in by an extra we ask of one of
them by name (``uvicorn[standard]`` brings ``uvloop``). ``.ci/run`` then proves it for real
with a fresh venv (``scripts/smoke_fresh_install``).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "agent_memory"
# The extras scripts/dev installs besides the runtime deps, read from the script itself.
_SETUP = re.search(r"scripts/setup\s+([\w,-]+)", (ROOT / "scripts" / "dev").read_text())
assert _SETUP, "scripts/dev no longer calls scripts/setup with its extras"
RUNTIME_EXTRAS = tuple(_SETUP.group(1).split(","))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> Iterator[str]:
    """Top-level module names imported anywhere in ``tree`` (functions included), skipping
    ``if TYPE_CHECKING:`` bodies and relative imports."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (name for child in node.orelse for name in _imports(child))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]
        yield from _imports(node)


def third_party_imports(package: Path = PACKAGE) -> dict[str, set[str]]:
    """``{top-level module: files importing it}`` for modules outside the standard library
    and outside the package itself."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name in sys.stdlib_module_names or name == package.name:
                continue
            found.setdefault(name, set()).add(str(path.relative_to(package.parent)))
    return found


def _expand(requirements: Iterable[str], project: dict, seen: set[str]) -> set[str]:
    """Canonical names of the distributions these requirement strings declare, with the
    dependencies each requested extra adds (recursively for our own extras)."""
    names: set[str] = set()
    for text in requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name == canonicalize_name(project["name"]):  # "agent-memory[embedded]"
            for extra in sorted(req.extras - seen):
                seen.add(extra)
                names |= _expand(project["optional-dependencies"][extra], project, seen)
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        names.add(name)
        for extra in req.extras:
            try:
                extra_deps = requires(req.name) or []
            except PackageNotFoundError:
                continue
            for dep in map(Requirement, extra_deps):
                if dep.marker is not None and dep.marker.evaluate({"extra": extra}) \
                        and not dep.marker.evaluate({"extra": ""}):
                    names.add(canonicalize_name(dep.name))
    return names


def declared_distributions(extras: Iterable[str] = RUNTIME_EXTRAS) -> set[str]:
    """Distributions a ``pip install ".[embedded,offline]"`` is promised by pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    return _expand(wanted, project, set(extras))


def undeclared(imports: dict[str, set[str]], declared: set[str]) -> list[str]:
    """One line per imported module no declared distribution provides."""
    providers = packages_distributions()
    problems = []
    for module, files in sorted(imports.items()):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & declared:
            problems.append(f"{module} (from {', '.join(sorted(dists)) or 'no installed package'};"
                            f" imported by {', '.join(sorted(files))})")
    return problems


def test_every_runtime_import_is_a_declared_runtime_dependency() -> None:
    assert "dev" not in RUNTIME_EXTRAS
    imports = third_party_imports()
    assert imports, "the scan found no third-party imports at all"
    assert not undeclared(imports, declared_distributions()), (
        "imported at run time but not declared in [project] dependencies or the "
        f"{'/'.join(RUNTIME_EXTRAS)} extras: {undeclared(imports, declared_distributions())}")


def test_the_check_flags_what_only_the_dev_extra_installs() -> None:
    """The check is not vacuous: every package that only the dev extra declares (pytest,
    ruff, ...) would be reported if agent_memory imported it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = declared_distributions()
    dev_only = {canonicalize_name(Requirement(r).name)
                for r in project["optional-dependencies"]["dev"]} - runtime
    dev_only.discard(canonicalize_name(project["name"]))
    providers = packages_distributions()
    modules = {m: {"synthetic.py"} for m, dists in providers.items()
               if {canonicalize_name(d) for d in dists} & dev_only
               and not {canonicalize_name(d) for d in dists} & runtime}
    assert modules, "no dev-only package is installed to test the check with"
    assert len(undeclared(modules, runtime)) == len(modules)
