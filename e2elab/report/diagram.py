"""A pipeline drawn as a chain of its stages, each with its real output for one example."""

from __future__ import annotations

from html import escape

import numpy as np

from .figures import stage_output_uri

KIND_LABEL = {"input": "input", "hand-crafted": "hand-crafted", "learned": "learned", "fixed": "fixed", "output": "output"}


def pipeline_diagram(model, example) -> str:
    """HTML for `model`'s stages; the outputs are computed on `example` (None draws the chain only)."""
    outputs = {}
    error = None
    if example is not None:
        try:
            outputs = model.stage_outputs(example)
        except Exception as err:  # a report still draws the chain when one example fails
            error = f"{type(err).__name__}: {err}"
    cards = []
    for stage in model.stages:
        value = outputs.get(stage.name)
        picture = stage_output_uri(value) if value is not None else None
        body = f'<img alt="{escape(stage.name)} output" src="{picture}">' if picture else _as_text(value)
        cards.append(
            f'<div class="stage {escape(stage.kind)}"><div class="stage-name">{escape(stage.name)}</div>'
            f'<div class="badge">{escape(KIND_LABEL.get(stage.kind, stage.kind))}</div>'
            f'<div class="stage-out">{body}</div><div class="stage-desc">{escape(stage.output)}</div></div>'
        )
    arrow = '<div class="arrow">&#8594;</div>'
    note = f'<p class="warn">Stage outputs could not be drawn: {escape(error)}</p>' if error else ""
    title = f"{model.task} &middot; {escape(model.kind)} <span class=\"muted\">({escape(type(model).__name__)})</span>"
    return f'<div class="pipeline"><h3>{title}</h3><div class="chain">{arrow.join(cards)}</div>{note}</div>'


def _as_text(value) -> str:
    if value is None:
        return '<span class="muted">&mdash;</span>'
    if isinstance(value, str):
        return f'<div class="text-out">{escape(value) or "&empty;"}</div>'
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return f'<div class="text-out">{escape(" ".join(value))}</div>'
    if isinstance(value, dict):
        rows = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(_short(v))}</td></tr>" for k, v in list(value.items())[:8])
        return f'<table class="mini">{rows}</table>'
    return f'<div class="text-out">{escape(_short(value))}</div>'


def _short(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}"
    if isinstance(value, np.ndarray):
        return f"array {value.shape}"
    if isinstance(value, dict) and value and all(isinstance(v, (float, np.floating)) for v in value.values()):
        top = sorted(value.items(), key=lambda kv: -float(kv[1]))[:3]  # e.g. class probabilities
        return ", ".join(f"{k}: {float(v):.3g}" for k, v in top)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        # Segments (phones, words): their labels in order, e.g. "SIL S EH V AH N ...".
        return " ".join(next((str(x) for x in v.values() if isinstance(x, str)), "?") for v in value)
    if isinstance(value, dict):
        value = ", ".join(f"{k}: {_short(v)}" for k, v in value.items())
    text = str(value)
    return text if len(text) < 80 else text[:77] + "..."
