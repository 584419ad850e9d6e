"""The package's layout: the flat modules students read never import the tooling, and no import circles.

The graph is read from the source (every `import`, at the top of a module or inside a function), so
an import hidden in a function to dodge a circle counts as what it is.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "solutions"
# `python -m solutions` runs solutions/__main__.py, which only hands over to the command line.
ENTRY_POINTS = {"solutions.__main__"}


def module_name(path, package=PACKAGE):
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path, known):
    """The package modules that `path` imports (`from solutions import x` counts as solutions.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def import_graph(package=PACKAGE):
    paths = {module_name(path, package): path for path in package.rglob("*.py")}
    return {name: imported_modules(path, paths) - {name} for name, path in paths.items()}


def find_cycle(graph):
    """One import circle as a list of modules [a, b, ..., a], or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for neighbour in sorted(graph.get(node, ())):
            if state.get(neighbour) == "open":
                return stack[stack.index(neighbour):] + [neighbour]
            if neighbour not in state:
                cycle = visit(neighbour)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


# The flat tier: the files directly in solutions/ (a subpackage's __init__ is not one of them).
FLAT = {module_name(path) for path in PACKAGE.glob("*.py") if path.stem != "__init__"} - ENTRY_POINTS


def is_flat(name):
    return name in FLAT


def test_the_cycle_finder_finds_a_circle_and_nothing_else():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_imports_inside_functions(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "cli.py").write_text("def main():\n    from solutions.sweep import run\n")
    (tmp_path / "solutions" / "sweep.py").write_text("from solutions import cli\n")
    graph = import_graph(tmp_path / "solutions")
    assert graph["solutions.cli"] == {"solutions.sweep"} and find_cycle(graph) is not None


def test_no_module_of_the_package_takes_part_in_an_import_circle():
    assert find_cycle(import_graph()) is None


def test_what_students_read_imports_neither_the_tooling_nor_the_checks():
    graph = import_graph()
    flat = [name for name in graph if is_flat(name)]
    assert "solutions.ddpg" in flat and "solutions.training" in flat and "solutions.tooling.cli" not in flat
    upward = {name: sorted(target for target in graph[name] if not is_flat(target) and target != "solutions")
              for name in flat}
    assert {name: targets for name, targets in upward.items() if targets} == {}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= 400
