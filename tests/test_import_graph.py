"""The house's floors (README, "Architecture"): every module of src/gateway sits on one floor
and imports only from its own floor or the floors below, and no module imports, directly or
through others, a module that imports it back.

The import graph is read from the source with `ast` (nothing is imported): every `import` and
`from … import`, also those inside functions and under TYPE_CHECKING, since a lazy import is
still a dependency. Modules on the same floor may import each other (the modules of one
capability folder do); the cycle check still holds there. Each capability folder is a floor of
its own, so the folders import each other in one direction only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src" / "gateway"

# The capabilities' floors, bottom to top: a folder uses those below it, never one above, so
# there is no circle between folders either. Where a folder needs what one above it does, the
# process wiring connects them (gateway.wiring) instead of an import.
CAPABILITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # the directory's tables (agencies, systems): auth resolves a calling system from them
    ("directory", ("registry.models",)),
    ("auth", ("auth",)),
    ("registry", ("registry",)),
    ("workdays", ("workdays",)),
    ("packages", ("packages",)),
    # the trust folder's wiring to the registry and packages, its HTTP routes and CLI
    ("trust", ("trust.cli", "trust.routes", "trust.runtime")),
    ("delivery", ("delivery",)),
    ("outages", ("outages",)),
    ("axis", ("axis",)),
    ("archive", ("archive",)),
)

# Bottom to top. A name is a module or a package of gateway (relative, "__init__" for the
# package itself); a module takes the floor of the longest name that contains it.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # pure libraries, no I/O beyond reading their own files: the edXML format, signatures
    ("format", ("edxml", "trust", "shipped")),
    # what every capability stands on: settings, database plumbing, errors, request bodies,
    # calendars, the CLI's language and output helpers
    (
        "foundation",
        (
            "__init__",
            "api_language",
            "body",
            "body_policy",
            "calendar",
            "cli_lang",
            "cli_output",
            "csv_out",
            "db",
            "error_handlers",
            "errors",
            "event_loop",
            "input_policy",
            "intake_gate",
            "listen",
            "migration_state",
            "outbox",
            "outbox_wake",
            "plain_words",
            "public_holidays",
            "request_problems",
            "secretbox",
            "settings",
            "uow",
        ),
    ),
    # being watched: logs with request ids, the delivery observer, counters, health probes
    ("observability", ("observability",)),
    # the hash-chained audit log every capability writes to, and the CLI unit of work that
    # chains it after its commit
    ("audit", ("audit", "cli_session")),
    # the capabilities, each folder a floor of its own (CAPABILITIES, bottom to top)
    *((f"capabilities/{label}", names) for label, names in CAPABILITIES),
    # the operators' surfaces: dashboard, reports, backups, accounts, /metrics figures
    ("operators", ("ops",)),
    # what starts processes and assembles everything
    (
        "entrances",
        (
            "all_models",
            "app",
            "cli",
            "cli_group",
            "cli_problems",
            "server_cli",
            "startup_failure",
            "wiring",
        ),
    ),
)


def module_name(path: Path, source: Path) -> str:
    parts = list(path.relative_to(source.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(source: Path) -> dict[str, Path]:
    return {module_name(p, source): p for p in sorted(source.rglob("*.py"))}


def imported(name: str, path: Path, known: dict[str, Path], top: str) -> Iterator[str]:
    """The gateway modules `name` (at `path`) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            # `from package import module` imports the module; `from module import name`
            # the module
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import gateway.a.b` of a non-module b
                target = target.rpartition(".")[0]
            if target and (target == top or target.startswith(top + ".")) and target != name:
                yield target


def import_graph(source: Path) -> dict[str, set[str]]:
    known = modules(source)
    top = source.name
    return {name: set(imported(name, path, known, top)) for name, path in known.items()}


def floor_of(name: str, top: str = "gateway") -> int | None:
    relative = name[len(top) + 1 :] if name != top else "__init__"
    best: tuple[int, int] | None = None  # (length of the matching name, floor)
    for floor, (_label, names) in enumerate(FLOORS):
        for declared in names:
            contains = relative == declared or relative.startswith(declared + ".")
            if contains and (best is None or len(declared) > best[0]):
                best = (len(declared), floor)
    return None if best is None else best[1]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
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


def upward_imports(graph: dict[str, set[str]], top: str = "gateway") -> list[str]:
    found = []
    for name in sorted(graph):
        for target in sorted(graph[name]):
            here, there = floor_of(name, top), floor_of(target, top)
            if here is not None and there is not None and there > here:
                found.append(f"{name} ({FLOORS[here][0]}) imports {target} ({FLOORS[there][0]})")
    return found


def unplaced(graph: dict[str, set[str]], top: str = "gateway") -> list[str]:
    return [name for name in sorted(graph) if floor_of(name, top) is None]


# --------------------------------------------------------------------------- the gateway


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(SOURCE)


def test_every_module_has_a_floor(graph: dict[str, set[str]]) -> None:
    assert unplaced(graph) == []


def test_no_module_imports_itself_back(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_imports_point_down(graph: dict[str, set[str]]) -> None:
    assert upward_imports(graph) == []


def test_the_graph_is_read(graph: dict[str, set[str]]) -> None:
    # a reader that saw no imports would pass the three tests above
    assert "gateway.db" in graph["gateway.audit.service"]
    assert "gateway.trust.keys" in graph["gateway.trust.runtime"]  # `from .keys import …`
    assert "gateway.settings" in graph["gateway.cli_problems"]  # inside a function


# --------------------------------------------------------------------------- the checker


def _tree(root: Path, files: dict[str, str]) -> Path:
    source = root / "gateway"
    for name, text in {"__init__.py": "", **files}.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return source


def test_checker_finds_a_circle_through_a_lazy_import(tmp_path: Path) -> None:
    source = _tree(
        tmp_path,
        {
            "db.py": "def load():\n    from .audit import service\n",
            "audit/__init__.py": "",
            "audit/service.py": "from ..db import load\n",
        },
    )
    assert cycles(import_graph(source)) == [["gateway.audit.service", "gateway.db"]]


def test_checker_finds_an_upward_import(tmp_path: Path) -> None:
    source = _tree(
        tmp_path,
        {
            "delivery/__init__.py": "",
            "delivery/service.py": "from gateway.ops.logging import log\n",
            "ops/__init__.py": "",
            "ops/logging.py": "log = None\n",
        },
    )
    graph = import_graph(source)
    assert cycles(graph) == []
    assert upward_imports(graph) == [
        "gateway.delivery.service (capabilities/delivery) imports gateway.ops.logging (operators)"
    ]


def test_checker_finds_an_import_up_the_capability_folders(tmp_path: Path) -> None:
    # packages sit below delivery: intake importing delivery's tables is an import up a floor
    source = _tree(
        tmp_path,
        {
            "packages/__init__.py": "",
            "packages/service.py": "from ..delivery.models import QueuedJob\n",
            "delivery/__init__.py": "",
            "delivery/models.py": "from ..packages import service\n",
        },
    )
    graph = import_graph(source)
    assert cycles(graph) == [["gateway.delivery.models", "gateway.packages.service"]]
    assert upward_imports(graph) == [
        "gateway.packages.service (capabilities/packages) imports gateway.delivery.models"
        " (capabilities/delivery)"
    ]


def test_checker_places_a_module_by_its_longest_name() -> None:
    assert FLOORS[floor_of("gateway.trust.verify")][0] == "format"
    assert FLOORS[floor_of("gateway.trust.runtime")][0] == "capabilities/trust"
    assert FLOORS[floor_of("gateway.registry.models")][0] == "capabilities/directory"
    assert FLOORS[floor_of("gateway.registry.service")][0] == "capabilities/registry"
    assert FLOORS[floor_of("gateway")][0] == "foundation"
    assert floor_of("gateway.newcomer") is None
