"""Use the project's own code without importing Dagster (for the floor).

A few project modules mix plain functions with Dagster glue in one file
(`storage/io_manager.py` holds `write_documents`/`read_documents` next to the IO manager,
`defs/checks.py` holds `document_checks` next to the check specs) or sit in a package whose
`__init__` imports Dagster (`cloudflare/__init__.py` imports the resource). Importing them
normally would import Dagster, which is exactly the cost the floor must not pay.

So the floor loads them here: packages whose `__init__` imports Dagster are registered
without running that `__init__`, and from Dagster-mixed modules only the top-level
statements that do not mention Dagster are executed (the current source, so the floor
follows performance fixes to these functions). `assert_no_dagster()` proves it worked.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import SimpleNamespace

_DAGSTER_NAME = re.compile(r"\bdg\.|\bdagster\b")
ROOT_PACKAGE = "stream_stats_dagster"


def _module_path(name: str) -> Path:
    """The source file of a project module, found without importing its parent packages."""
    root = importlib.util.find_spec(ROOT_PACKAGE)
    assert root is not None and root.origin is not None
    base = Path(root.origin).parent
    parts = name.split(".")[1:]
    candidate = base.joinpath(*parts)
    if candidate.with_suffix(".py").exists():
        return candidate.with_suffix(".py")
    if (candidate / "__init__.py").exists():
        return candidate / "__init__.py"
    raise ModuleNotFoundError(name)


_PULLS: dict[str, bool] = {}


def _pulls_dagster(module: str) -> bool:
    """Whether importing the project module `module` imports Dagster, directly or through
    other project modules (parent packages aside: `_ensure_package` deals with those)."""
    if module in _PULLS:
        return _PULLS[module]
    _PULLS[module] = False  # cycles: assume not while looking
    path = _module_path(module)
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # Module-level imports only: imports inside functions are lazy (e.g. `r2.py` loads
    # dagster_aws only when `R2Resource` is asked for) and do not run at import time.
    result = any(
        _import_pulls_dagster(node, package)
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
    )
    _PULLS[module] = result
    return result


def _ensure_package(pkg: str) -> None:
    """Import a package, or register it bare if its `__init__` imports Dagster."""
    if pkg in sys.modules:
        return
    if pkg != ROOT_PACKAGE and _pulls_dagster(pkg):
        path = _module_path(pkg)
        spec = importlib.util.spec_from_file_location(
            pkg, path, submodule_search_locations=[str(path.parent)]
        )
        assert spec is not None
        sys.modules[pkg] = importlib.util.module_from_spec(spec)
    else:
        importlib.import_module(pkg)


def import_module(name: str):
    """`importlib.import_module`, but parent packages whose `__init__` imports Dagster are
    registered as bare packages (their submodules import normally, their `__init__` is skipped)."""
    parts = name.split(".")
    for i in range(1, len(parts)):
        _ensure_package(".".join(parts[:i]))
    return importlib.import_module(name)


def _relative_target(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _import_pulls_dagster(node: ast.stmt, package: str) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0].startswith("dagster") for a in node.names)
    assert isinstance(node, ast.ImportFrom)
    target = _relative_target(node, package)
    if target.split(".")[0].startswith("dagster"):
        return True
    if not target.startswith(ROOT_PACKAGE):
        return False
    candidates = [target] + [f"{target}.{a.name}" for a in node.names]
    for module in candidates:
        try:
            _module_path(module)
        except ModuleNotFoundError:
            continue
        if module != ROOT_PACKAGE and module != package and _pulls_dagster(module):
            return True
    return False


def extract(module_name: str, names: list[str]) -> SimpleNamespace:
    """Execute the Dagster-free top-level statements of a project module; return `names`.

    Kept: imports that do not (directly) import Dagster, and functions, classes and
    assignments whose source does not mention `dg.`/`dagster`. Relative imports resolve as
    in the original module. Raises if a requested name did not survive."""
    path = _module_path(module_name)
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    package = module_name.rpartition(".")[0]
    kept: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            if not _import_pulls_dagster(node, package):
                kept.append(node)
        elif isinstance(
            node, ast.FunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign
        ) and not _DAGSTER_NAME.search(ast.get_source_segment(source, node) or ""):
            kept.append(node)
    # Relative imports need the parent packages; register them the Dagster-free way.
    parts = package.split(".")
    for i in range(1, len(parts) + 1):
        _ensure_package(".".join(parts[:i]))
    namespace: dict[str, object] = {
        "__name__": f"bench.nodagster.{module_name}",
        "__package__": package,
        "__file__": str(path),
    }
    exec(compile(ast.Module(body=kept, type_ignores=[]), str(path), "exec"), namespace)
    missing = [n for n in names if n not in namespace]
    if missing:
        raise ImportError(
            f"{module_name}: {', '.join(missing)} depend on Dagster now; update bench/floor.py"
        )
    return SimpleNamespace(**{n: namespace[n] for n in names})


def constants(module_name: str, names: list[str]) -> SimpleNamespace:
    """Module-level constants (simple assignments) of a project module, without importing it."""
    path = _module_path(module_name)
    source = path.read_text(encoding="utf-8")
    namespace: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            try:
                exec(
                    compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), namespace
                )
            except Exception:
                continue
    missing = [n for n in names if n not in namespace]
    if missing:
        raise ImportError(f"{module_name}: constants {', '.join(missing)} not found")
    return SimpleNamespace(**{n: namespace[n] for n in names})


def assert_no_dagster() -> None:
    loaded = sorted(m for m in sys.modules if m == "dagster" or m.startswith("dagster."))
    if loaded:
        raise AssertionError(f"the floor imported Dagster ({loaded[0]}, ...)")
