"""Layers hold: no import circle between timebank's packages, and policy.py sits on the models.

The graph is built from the source with ``ast`` (nothing is imported): a node is a package or a
top-level module under ``timebank/`` (``timebank.ledger``, ``timebank.policy``, …); an edge is any
``import`` between two nodes, at module level or inside a function (a lazy import still couples
the two). A feature's ``commands.py`` (its ``flask`` commands, registered by ``timebank.cli``) is
counted with ``timebank.cli``: like the pages in ``blueprints/``, commands sit above every feature.
"""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "timebank"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _node(module: str) -> str:
    if module.endswith(".commands"):
        return "timebank.cli"
    return ".".join(module.split(".")[:2])


def _imports(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Import):
            found += [(alias.name, statement.lineno) for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            found.append((statement.module, statement.lineno))
            # ``from timebank import models`` names a package, not an attribute
            found += [(f"{statement.module}.{alias.name}", statement.lineno)
                      for alias in statement.names
                      if (PACKAGE.parent / statement.module.replace(".", "/") / alias.name)
                      .exists()]
    return found


def package_graph() -> dict[str, dict[str, list[str]]]:
    """Return ``{node: {imported node: ["module:line", ...]}}`` for timebank's source."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        for target, line in _imports(ast.parse(path.read_text(), str(path))):
            if not target.startswith("timebank.") or _node(target) == _node(module):
                continue
            graph[_node(module)][_node(target)].append(f"{module}:{line}")
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """Return one cycle as a list of nodes (first == last), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, {})):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_between_packages():
    graph = package_graph()
    cycle = find_cycle(graph)
    if cycle:
        pairs = zip(cycle, cycle[1:], strict=False)
        steps = [f"{a} -> {b} ({', '.join(graph[a][b][:3])})" for a, b in pairs]
        raise AssertionError("import cycle:\n" + "\n".join(steps))


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b": ["a.x:1"]}, "b": {"c": ["b.y:2"]}, "c": {"a": ["c.z:3"]}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": []}, "b": {}}) is None


def test_policy_depends_only_on_models_and_extensions():
    imported = set(package_graph().get("timebank.policy", {}))
    assert imported <= {"timebank.models", "timebank.extensions"}, imported
