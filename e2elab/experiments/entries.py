"""Pipeline entries of a learning curve: a pipeline kind with parameters of its own.

An entry is written ``kind[:name=value[:name=value...]]``, e.g. ``end-to-end:init_from=runs/speech/model``
or ``end-to-end:backbone=mobilenet_v2``, so that one curve puts a remedy for small data beside the
plain pipelines. Each entry is its own curve, labelled by its text. Values are read as JSON where
they parse (numbers, true, lists) and kept as text otherwise; a value may hold a colon (a Windows
drive, a URL), since only a colon followed by ``name=`` starts the next parameter. Parameters given
for a kind as a whole (``--param end-to-end.epochs=20``) apply to every entry of that kind; the
entry's own override them.

An entry that starts from a saved model (``init_from``) carries the cost of building that model
elsewhere; :func:`pretraining` finds it in the ``train.json`` written beside the model, so that
pretraining is reported apart from the fine-tuning the curve measures.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

# The separator between parameters: a colon followed by a parameter name and "=".
_NEXT_PARAMETER = re.compile(r":(?=\s*[A-Za-z_]\w*\s*=)")
# What a cell key may hold as it is; e2elab.experiments.grid.cell_path replaces the rest.
_FILE_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


@dataclass(frozen=True)
class PipelineEntry:
    """One curve: pipeline `kind` with `own_params`, shown as `label`."""

    label: str
    kind: str
    own_params: dict = field(default_factory=dict)

    @property
    def is_plain(self) -> bool:
        """Whether this is the pipeline as its kind alone builds it (the baseline of its remedies)."""
        return not self.own_params

    def params(self, kind_params: dict) -> dict:
        """The parameters the pipeline is built with: those of its kind, then its own."""
        return {**kind_params.get(self.kind, {}), **self.own_params}

    @property
    def key(self) -> str:
        """A file-safe name for the entry's cells; a digest keeps apart labels that differ only in
        characters a file name cannot hold (``init_from=a/b`` and ``init_from=a_b``)."""
        safe = _FILE_SAFE.sub("_", self.label)
        if safe == self.label:
            return safe
        return f"{safe}-{hashlib.sha1(self.label.encode()).hexdigest()[:8]}"


def parse_entry(text: str) -> PipelineEntry:
    """``"end-to-end:init_from=M:lower_lr=0.1"`` -> PipelineEntry (see the module docstring)."""
    kind, *assignments = (part.strip() for part in _NEXT_PARAMETER.split(text.strip()))
    if not kind or "=" in kind:
        raise ValueError(f"pipeline entry {text!r}: expected kind[:name=value...], e.g. end-to-end:init_from=MODEL_DIR")
    params, shown = {}, [kind]
    for assignment in assignments:
        name, _, value = (s.strip() for s in assignment.partition("="))
        if name in params:
            raise ValueError(f"pipeline entry {text!r}: parameter {name!r} is given twice")
        params[name] = _value(value)
        shown.append(f"{name}={value}")
    return PipelineEntry(":".join(shown), kind, params)


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def entry_of(item) -> PipelineEntry:
    """An entry from its text, or from a ``(kind, {name: value})`` pair as Python code gives it."""
    if isinstance(item, PipelineEntry):
        return item
    if isinstance(item, str):
        return parse_entry(item)
    kind, params = item
    shown = "".join(f":{name}={value if isinstance(value, str) else json.dumps(value)}" for name, value in params.items())
    return PipelineEntry(f"{kind}{shown}", kind, dict(params))


def resolve_entries(task: str, pipelines, params: dict | None = None) -> list[PipelineEntry]:
    """The entries asked for (texts, pairs or entries), or one plain entry per registered pipeline of
    `task`; every kind must be registered, every label distinct, and every kind in `params` run."""
    from .compare import resolve_pipelines

    if pipelines:
        entries = [entry_of(item) for item in pipelines]
        resolve_pipelines(task, [entry.kind for entry in entries])  # a clear error naming what exists
    else:
        entries = [PipelineEntry(kind, kind) for kind in resolve_pipelines(task, None)]
    labels = [entry.label for entry in entries]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"pipeline entry {', '.join(repeated)} is given twice")
    kinds = {entry.kind for entry in entries}
    unknown = sorted(set(params or {}) - kinds)
    if unknown:
        raise ValueError(f"parameters given for {', '.join(unknown)}, which is not run (pipelines: {', '.join(labels)})")
    return entries


def baseline_of(entry: PipelineEntry, entries: list[PipelineEntry]) -> PipelineEntry | None:
    """The plain entry of `entry`'s kind, against which a remedy's saving is measured."""
    return next((other for other in entries if other.is_plain and other.kind == entry.kind and other is not entry), None)


def pretraining(params: dict) -> dict | None:
    """{"seconds", "record"}: the time it took to build the model `params["init_from"]` names (for
    ``e2elab pretrain``, corpus and training), from the ``train.json`` in its folder or beside it
    (``e2elab train --out RUN`` writes RUN/train.json and RUN/model); None without `init_from` or
    without such a record."""
    source = params.get("init_from")
    if source is None:
        return None
    folder = Path(source).expanduser()
    for record in (folder / "train.json", folder.parent / "train.json"):
        try:
            saved = json.loads(record.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        # a record beside the folder must name it as its model (RUN/train.json names RUN/model)
        describes_it = record.parent == folder or Path(str(saved.get("model", ""))).name == folder.name
        # `e2elab pretrain` records its corpus generation and training together as the total
        seconds = (saved.get("pretraining") or {}).get("total_seconds", saved.get("train_seconds"))
        if describes_it and isinstance(seconds, (int, float)):
            return {"seconds": float(seconds), "record": str(record)}
    return None
