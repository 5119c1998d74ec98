"""Find what a run folder holds: results, curves, explanations, models, training logs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RunFolderError


@dataclass
class RunContents:
    root: Path
    run: dict = field(default_factory=dict)  # run.json: commands, versions, timings
    results: list[tuple[Path, dict]] = field(default_factory=list)
    curves: list[tuple[Path, dict]] = field(default_factory=list)
    explanations: list[tuple[Path, list]] = field(default_factory=list)
    models: list[Path] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)  # task -> example items
    histories: dict[str, list[dict]] = field(default_factory=dict)  # label -> metrics.jsonl rows
    confusions: list[tuple[Path, dict]] = field(default_factory=list)
    trainings: list[tuple[Path, dict]] = field(default_factory=list)  # train.json records
    # experiment folder -> its finished cells ({"spec", "result"}), for the experiments whose cells
    # keep example predictions (compare runs)
    example_cells: dict[Path, list[dict]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.results or self.curves or self.explanations or self.models or self.trainings)


def collect(root: str | Path) -> RunContents:
    root = Path(root)
    if not root.is_dir():
        raise RunFolderError(f"{root}: no such run folder" if not root.exists() else f"{root}: not a folder")
    found = RunContents(root=root)
    cells: dict[Path, list[dict]] = {}
    if (root / "run.json").exists():
        found.run = _read(root / "run.json")
    for path in sorted(root.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        name = path.name
        if name == "results.json":
            found.results.append((path, _read(path)))
        elif name == "curve.json":
            found.curves.append((path, _read(path)))
        elif name == "explanations.json":
            data = _read(path)
            found.explanations.append((path, data.get("explanations", data) if isinstance(data, dict) else data))
        elif name == "e2elab.json":
            found.models.append(path.parent)
        elif name == "examples.json":
            data = _read(path)
            found.examples[data["task"]] = [str((path.parent / item) if not Path(item).is_absolute() else item) for item in data["items"]]
        elif name.startswith("confusion"):
            found.confusions.append((path, _read(path)))
        elif name == "train.json":
            found.trainings.append((path, _read(path)))
        elif path.parent.name == "cells":
            cells.setdefault(path.parent.parent, []).append(_read(path))
    found.example_cells = {folder: records for folder, records in cells.items()
                           if any("examples" in (record.get("result") or {}) for record in records)}
    for path in sorted(root.rglob("metrics.jsonl")):
        label = str(path.parent.relative_to(root))
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        found.histories[label] = rows
    return found


def _read(path: Path):
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RunFolderError(f"{path}: not valid JSON ({err})") from None
