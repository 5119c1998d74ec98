"""The report's translation examples: source sentences, their references and both pipelines' translations.

The sentences are the first test items of the compare run, which every pipeline's first split and
seed translated (the same split for all, so the rows line up). Under the table, BLEU and chrF per
pipeline over all runs, and sacreBLEU's signature: how the scores were computed (tokeniser,
casing, smoothing, version), so that they can be compared with published ones.
"""

from __future__ import annotations

from html import escape

import numpy as np


def translation_examples(cells: list[dict]) -> str:
    """The HTML of one compare run's translation examples (see the module docstring)."""
    shown = {(c.get("spec") or {}).get("kind", ""): c["result"]["examples"] for c in cells
             if "examples" in (c.get("result") or {})}
    kinds = list(shown)
    rows = []
    for index, example in enumerate(next(iter(shown.values()), [])):
        outputs = []
        for kind in kinds:
            theirs = shown[kind][index] if index < len(shown[kind]) else None
            same_sentence = theirs is not None and theirs["item"] == example["item"]
            outputs.append(f"<td>{escape(str(theirs['prediction'])) if same_sentence else '&ndash;'}</td>")
        rows.append(f"<tr><td>{escape(str(example['item']))}</td><td>{escape(str(example['truth']))}</td>{''.join(outputs)}</tr>")
    header = "".join(f"<th>{escape(kind)}</th>" for kind in kinds)
    table = f"<table><tr><th>source</th><th>reference</th>{header}</tr>{''.join(rows)}</table>" if rows else ""
    return table + _scores(cells)


def _scores(cells: list[dict]) -> str:
    """Mean BLEU and chrF per pipeline over the runs, with sacreBLEU's signatures."""
    runs: dict[str, list[dict]] = {}
    for cell in cells:
        result = cell.get("result") or {}
        if "bleu" in result:
            runs.setdefault((cell.get("spec") or {}).get("kind", ""), []).append(result)
    if not runs:
        return ""
    lines = [f"<li>{escape(kind)}: BLEU {np.mean([r['bleu'] for r in found]):.1f}, "
             f"chrF {np.mean([r['chrf'] for r in found]):.1f} ({len(found)} run{'s' if len(found) > 1 else ''})</li>"
             for kind, found in runs.items()]
    signatures = {r[key] for found in runs.values() for r in found for key in ("bleu_signature", "chrf_signature") if key in r}
    signature = "".join(f"<br><code>{escape(s)}</code>" for s in sorted(signatures))
    return f'<ul>{"".join(lines)}</ul><p class="muted">sacreBLEU signature{"s" if len(signatures) > 1 else ""}:{signature}</p>'
