"""Import hygiene: no import cycles among posetool modules, imports only at the top of a module,
and the model registry (``posetool weights list``) free of torch.

Cycles are looked for in the module-level imports (function-local imports of heavy libraries and
lazily resolved ``"module:function"`` strings are the intended way to defer work). Importing
``a.b.c`` also runs the packages ``a`` and ``a.b``, so those count as edges too, except a module's
own ancestors, which Python has started initialising before the module itself runs.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "posetool"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported_names(module: str, path: Path) -> set[str]:
    """Dotted names imported when ``module`` runs (module-level statements only)."""
    is_package = path.name == "__init__.py"
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = module.split(".") if is_package else module.split(".")[:-1]
                    parts = parts[:len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)  # ``from pkg import submodule``
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        own = module.split(".")
        ancestors = {".".join(own[:i]) for i in range(1, len(own))}
        deps: set[str] = set()
        for name in _imported_names(module, path):
            parts = name.split(".")
            deps.update(p for p in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if p in modules)
        graph[module] = deps - ancestors - {module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_among_posetool_modules():
    assert _cycles(_graph()) == []


def test_imports_only_at_the_top_of_a_module():
    late = []
    for module, path in _modules().items():
        code_seen = False
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            docstring = isinstance(node, ast.Expr) and isinstance(getattr(node.value, "value", None), str)
            imports = isinstance(node, (ast.Import, ast.ImportFrom)) or (isinstance(node, (ast.If, ast.Try)) and any(
                isinstance(n, (ast.Import, ast.ImportFrom)) for n in node.body))
            if imports and code_seen:
                late.append(f"{path.relative_to(REPO)}:{node.lineno}")
            code_seen = code_seen or not (imports or docstring)
    assert late == [], "imports below module code: " + ", ".join(late)


_LIST_AND_REPORT = """
import sys
from posetool.cli import main
sys.argv = ["posetool", "weights", "list"]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print("SPECS", all(m in sys.modules for m in ("posetool.detect.specs", "posetool.lift3d.specs")))
print("TORCH", any(m == "torch" or m.startswith("torch.") for m in sys.modules))
"""


def test_listing_models_imports_no_torch():
    proc = subprocess.run([sys.executable, "-c", _LIST_AND_REPORT], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SPECS True" in proc.stdout, "posetool weights list did not load the stages' spec modules"
    assert "TORCH False" in proc.stdout, "posetool weights list imported torch"
