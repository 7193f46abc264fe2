"""The layers hold: the import-linter contracts in setup.cfg, and the rules import-linter cannot express.

Rules (issue 14; the map is in README "How it is built"):

1. Nothing imports ``cli`` except ``__main__``.
2. ``core`` imports only the standard library.
3. ``read``, ``checks``, ``settings`` and ``ooxml`` import only ``core``; ``read`` may use ``ooxml``.
4. ``write`` does not import ``read``; ``export`` imports only ``core`` and ``settings`` (and beside ``write``,
   neither imports the other).
5. pandas and pandera are imported only in ``checks`` (and ``consolidate.schemas``), XlsxWriter only in ``write``.
6. No private name crosses a module boundary: no ``from .x import _name`` and no ``x._name`` on a
   module of the package imported under the name ``x`` (dunder names are not private).
7. An import inside a function is there only to save start-up time, and a comment says so: on
   the import's own line(s), or the comment lines right above it (a run of imports shares the
   comment above the run), containing "start-up", "startup", "only", "lazy" or "first use".
8. A module over ~400 lines (LONG) says in its docstring why it is one ("on purpose").

1 to 5 are import-linter contracts (``lint-imports``, which sees imports inside functions too);
1 and 2 are checked here on the source as well (which also covers ``consolidate/__init__.py``); 6 to 8 only here.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "consolidate"
WHY = ("start-up", "startup", "only", "lazy", "first use")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module an ``from ... import`` names, as an absolute dotted name."""
    if not node.level:
        return node.module or ""
    package = dotted(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(path: Path, tree: ast.AST) -> list[tuple[int, str]]:
    """(line, absolute module) of every import, ``from x import y`` giving both x and x.y."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = absolute(path, node)
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return found


def parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def test_import_linter_contracts_are_kept(capsys):
    from importlinter.cli import lint_imports

    code = lint_imports(config_filename=str(PACKAGE.parent / "setup.cfg"), no_cache=True)
    assert code == 0, capsys.readouterr().out


def test_nothing_imports_the_cli():
    wrong = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
             for path in modules() if path.name != "__main__.py" and (PACKAGE / "cli") not in path.parents
             for line, name in imported_modules(path, parsed(path))
             if name == "consolidate.cli" or name.startswith("consolidate.cli.")]
    assert wrong == []


def test_core_imports_only_the_standard_library():
    wrong = []
    for path in sorted((PACKAGE / "core").rglob("*.py")):
        for line, name in imported_modules(path, parsed(path)):
            top = name.split(".")[0]
            if name.startswith("consolidate.core") or top in sys.stdlib_module_names or name == "__future__" \
                    or name.startswith("__future__."):
                continue
            if name.startswith("consolidate.") and name.rsplit(".", 1)[0].startswith("consolidate.core"):
                continue  # "from .records import Record" also yields consolidate.core.records.Record
            wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert wrong == []


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_private_name_crosses_a_module_boundary():
    wrong = []
    for path in modules():
        tree = parsed(path)
        aliases: set[str] = set()  # names bound to a module of this package
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = absolute(path, node)
                if not module.startswith("consolidate"):
                    continue
                for a in node.names:
                    if _private(a.name):
                        wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {a.name} from {module}")
                    if (PACKAGE.parent / f"{module}.{a.name}".replace(".", "/")).with_suffix(".py").exists() \
                            or (PACKAGE.parent / f"{module}.{a.name}".replace(".", "/")).is_dir():
                        aliases.add(a.asname or a.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("consolidate") and a.asname:
                        aliases.add(a.asname)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and _private(node.attr):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert wrong == []


def _function_imports(tree: ast.AST) -> list[ast.stmt]:
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.append(node)
    return found


def _reason(lines: list[str], node: ast.stmt, at_line: dict[int, ast.stmt]) -> str:
    """The comment that explains an import: on its lines, else the comment lines right above it,
    else (an import right below another one, a run) the comment of the import above."""
    own = " ".join(line.split("#", 1)[1] for line in lines[node.lineno - 1 : node.end_lineno] if "#" in line)
    if own:
        return own
    above, n = [], node.lineno - 1
    while n >= 1 and lines[n - 1].strip().startswith("#"):
        above.append(lines[n - 1].strip())
        n -= 1
    if above:
        return " ".join(above)
    if n in at_line:
        return _reason(lines, at_line[n], at_line)
    return ""


def test_function_level_imports_say_they_save_start_up_time():
    wrong = []
    for path in modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        nodes = _function_imports(parsed(path))
        at_line = {n: node for node in nodes for n in range(node.lineno, node.end_lineno + 1)}
        for node in nodes:
            if not any(word in _reason(lines, node, at_line).lower() for word in WHY):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert wrong == [], "an import inside a function needs a comment saying why (start-up time): " + "; ".join(wrong)


@pytest.mark.parametrize("package", ["core", "settings", "read", "checks", "ooxml", "write", "write/feedback", "web", "history",
                                     "export", "cli"])
def test_each_sub_package_says_what_it_owns(package):
    doc = ast.get_docstring(parsed(PACKAGE / package / "__init__.py"))
    assert doc and len(doc.splitlines()) == 1, f"{package}/__init__.py needs a one-line docstring"


LONG = 450  # "about 400 lines": a module longer than this says why in its docstring


def test_a_long_module_says_why_it_is_one():
    long = []
    for path in modules():
        text = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > LONG and "on purpose" not in doc:
            long.append(f"{path.relative_to(PACKAGE.parent)} ({text.count(chr(10))} lines)")
    assert long == [], "split these, or say in the module docstring why each is one module ('on purpose'): " + ", ".join(long)


def test_no_import_cycles():
    """Issue 14 removed two cycles hidden by imports inside functions (config → registry → config;
    feedback ↔ feedback_openpyxl); grimp sees those imports too, so none can come back unnoticed."""
    import grimp

    graph = grimp.build_graph("consolidate", cache_dir=None)
    inside = {m: {i for i in graph.find_modules_directly_imported_by(m) if i.startswith("consolidate.")}
              for m in graph.modules if m.startswith("consolidate")}
    cycles = [(a, b) for a in inside for b in inside[a]
              if b != a and graph.chain_exists(importer=b, imported=a, as_packages=False)]
    assert cycles == []
