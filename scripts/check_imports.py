"""Check that e2elab's imports form no circle and point down its layers; argparse stays in commands/.

Usage: ``python scripts/check_imports.py [PACKAGE_DIR]`` (default: the ``e2elab`` folder beside
this script's folder). Prints ``ok: N modules, M imports`` and exits 0 when the package is
clean; otherwise prints one violation a line and exits 1.

The modules are parsed, never imported. An import is any ``import``/``from ... import`` of an
e2elab module (absolute or relative, at the top of a module or inside a function: a lazy import
still ties the two modules together), and any *reference by name*: an
``importlib.import_module("e2elab...")`` call or a string naming an e2elab module (a whole
``"e2elab.speech.end_to_end"`` or ``"e2elab.data.sources:load_folder"``), since code imports what
such a string names sooner or later. Importing ``e2elab.data.audio`` runs the package
``__init__`` modules above it too; those implicit imports are not counted (every package
``__init__`` sits in or above the layer of its modules, so they add no arrow upwards).

Layers, top to bottom; a module may import its own layer and the layers below, never above:

1. the command line: ``commands/``, ``cli.py``, ``__main__.py`` (the only place for argparse)
2. ``demo.py``: the main job, built from the library
3. the public API, ``e2elab/__init__.py``: ``load_dataset``, ``make_pipeline``, ``save``, ``load``
   are shortcuts into the layers below, so the package's front door stands above them (library
   modules import the module that does the work, never the front door)
4. what is done with pipelines: ``experiments/``, ``explain/``, ``report/``, ``serve/``
5. the tasks' pipelines and their parts: ``speech/``, ``image/``, ``translation/``, ``detection/``
6. ``nn/``: the one training loop shared by the end-to-end pipelines
7. data: ``data/`` (readers, Dataset, splits, built-ins) and ``synth/`` (synthetic corpora)
8. the base: ``base.py``, ``version.py``, ``params.py``, ``errors.py``, ``atomic.py``, ``io.py``,
   ``model_files/``, and the two registries, ``registry.py`` (pipelines) and ``tasks/`` (tasks)

The registries sit at the bottom because every layer reads them: commands, experiments, explain
and report read the task registry; the pipelines register themselves into ``registry.py``. They
point upwards only by name: ``registry.py`` imports the pipeline modules on first use (so
``import e2elab`` stays fast and a caller builds a pipeline without importing it) and a task names
its pipelines, readers, explainers and report figures as ``"module:name"`` references resolved on
first use. Those references, and the skops allow-list's names, are the only exceptions
(:data:`BY_NAME_UPWARDS`); a real ``import`` from them to a layer above is a violation like any
other.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "e2elab"

# Each layer: its name, then the first component of the module names inside it ("" = e2elab/__init__.py).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("command line", ("commands", "cli", "__main__")),
    ("demo", ("demo",)),
    ("public API", ("",)),
    ("experiments, explain, report, serve, export", ("experiments", "explain", "report", "serve", "export")),
    ("task pipelines", ("speech", "image", "translation", "detection")),
    ("nn", ("nn",)),
    ("data", ("data", "synth")),
    ("base", ("base", "version", "params", "errors", "atomic", "io", "model_files", "registry", "tasks")),
)
# Only these may import argparse: parsing the command line is the command line's job.
ARGPARSE_ALLOWED = ("commands", "cli")
# Modules (and the modules under them) whose references *by name* may point upwards, and why.
BY_NAME_UPWARDS = {
    f"{PACKAGE}.registry": "imports the pipeline modules on first use, so that they register themselves; "
                           "`import e2elab` stays fast and callers build pipelines without importing them",
    f"{PACKAGE}.tasks": "a task names its pipelines, readers, explainers and report figures as 'module:name' "
                        "references resolved on first use, so that every layer can read the task registry",
    f"{PACKAGE}.model_files.skops_trust": "the classes a saved model may hold are one exact allow-list, kept in "
                                          "one place to be audited; a listed module is imported only when a file "
                                          "being loaded names it",
}

_MODULE_REFERENCE = re.compile(rf"^{PACKAGE}(\.\w+)+(:\w+)?$")


@dataclass(frozen=True)
class Import:
    """One arrow of the graph: `importer` uses `imported` at `line`, by an import or by name."""

    importer: str
    imported: str
    path: str
    line: int
    by_name: bool = False


@dataclass
class Report:
    modules: list[str]
    imports: list[Import]
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        arrows = {(i.importer, i.imported) for i in self.imports}
        return f"ok: {len(self.modules)} modules, {len(arrows)} imports"


def module_names(package_dir: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (a package is named by its ``__init__.py``)."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join((PACKAGE, *parts))] = path
    return names


def top_name(module: str) -> str:
    """The first name below the package: "data" for e2elab.data.audio, "" for e2elab itself."""
    return module.split(".")[1] if "." in module else ""


def layer_of(module: str) -> int | None:
    """The index of `module`'s layer in LAYERS (0 = top), or None when no layer claims it."""
    for index, (_, members) in enumerate(LAYERS):
        if top_name(module) in members:
            return index
    return None


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of dotted `name` that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _relative_base(module: str, is_package: bool, level: int) -> str:
    """The package that a relative import of `level` dots inside `module` starts from."""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    return ".".join(parts[: len(parts) - (level - 1)])


def _imports_of(module: str, path: Path, modules: dict[str, Path]) -> tuple[list[Import], list[str]]:
    """The e2elab imports of one module, and the lines where it imports argparse."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    shown = path.relative_to(modules[PACKAGE].parent.parent)  # e2elab/data/audio.py
    found, argparse_lines = [], []
    is_package = path.name == "__init__.py"

    def add(target: str | None, node: ast.AST, by_name: bool = False) -> None:
        resolved = _resolve(target, modules) if target else None
        if resolved is not None and resolved != module:
            found.append(Import(module, resolved, str(shown), node.lineno, by_name))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "argparse":
                    argparse_lines.append(f"{shown}:{node.lineno}")
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").split(".")[0] == "argparse":
                argparse_lines.append(f"{shown}:{node.lineno}")
            if node.level:
                base = _relative_base(module, is_package, node.level)
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            # `from package import name` imports the module package.name where there is one.
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                add(submodule if submodule in modules else source, node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_REFERENCE.match(node.value):
            # "e2elab.speech.end_to_end", "e2elab.image.kernels.Chi2SVC", "e2elab.data.sources:load_folder";
            # a name that only starts with the package ("e2elab.json", a file name) is no reference.
            named = _resolve(node.value.split(":")[0], modules)
            add(named if named != PACKAGE else None, node, by_name=True)
    return found, argparse_lines


def _is_exempt(arrow: Import) -> bool:
    return arrow.by_name and any(arrow.importer == m or arrow.importer.startswith(m + ".") for m in BY_NAME_UPWARDS)


def _find_cycles(modules: list[str], arrows: list[Import]) -> list[list[str]]:
    """One circle through each strongly connected group of modules (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for arrow in arrows:
        graph[arrow.importer].add(arrow.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        # Iterative depth-first search: the graph may be deeper than Python's recursion limit.
        work = [(node, iter(sorted(graph[node])))]
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[current] = min(low[current], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[current])
            if low[current] == index[current]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == current:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return [_circle_in(group, graph) for group in groups]


def _circle_in(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest circle from the group's first module back to itself, staying inside the group."""
    start, members = group[0], set(group)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return group  # unreachable for a strongly connected group


def check(package_dir: str | Path) -> Report:
    """Parse every module under `package_dir` and list what breaks the rules above."""
    package_dir = Path(package_dir)
    modules = module_names(package_dir)
    arrows, violations = [], []
    for module, path in modules.items():
        found, argparse_lines = _imports_of(module, path, modules)
        arrows += [arrow for arrow in found if not _is_exempt(arrow)]
        if top_name(module) not in ARGPARSE_ALLOWED:
            violations += [f"{where}: imports argparse (only commands/ and cli.py parse the command line)"
                           for where in argparse_lines]
        if layer_of(module) is None:
            violations.append(f"{module}: in no layer (add its folder to LAYERS in {Path(__file__).name})")
    # One line per importer, imported module and line (`from x import a, b` is one import).
    for arrow in sorted({(a.path, a.line, a.importer, a.imported): a for a in arrows}.values(),
                        key=lambda a: (a.path, a.line, a.imported)):
        above, below = layer_of(arrow.importer), layer_of(arrow.imported)
        if above is not None and below is not None and below < above:
            how = "names" if arrow.by_name else "imports"
            violations.append(f"{arrow.path}:{arrow.line}: {arrow.importer} ({LAYERS[above][0]}) {how} "
                              f"{arrow.imported} ({LAYERS[below][0]}), a layer above it")
    for circle in _find_cycles(list(modules), arrows):
        violations.append("import circle: " + " -> ".join(circle))
    return Report(sorted(modules), arrows, violations)


def main(argv: list[str]) -> int:
    package_dir = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / PACKAGE
    report = check(package_dir)
    if report.ok:
        print(report.summary())
        return 0
    print(f"{len(report.violations)} import rule violation(s) in {package_dir}:")
    for violation in report.violations:
        print(f"  {violation}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
