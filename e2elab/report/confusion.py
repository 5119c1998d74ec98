"""Confusion files (``confusion_<pipeline>.json``) as the square count matrices the report draws.

Each task's report section names the function that reads its files (:mod:`e2elab.tasks`):
classes give a matrix with its labels; transcripts give counts[reference word][hypothesis word].
"""

from __future__ import annotations


def class_confusion(entry: dict):
    """(labels, matrix) of a class confusion matrix (rows: true class), or None when `entry` holds none."""
    if "matrix" in entry and "labels" in entry:
        return entry["labels"], entry["matrix"]
    return None


def word_confusion(entry: dict):
    """(labels, matrix) from counts[reference word][hypothesis word]; "<del>" is a column of
    deletions and "<ins>" a row of insertions. None when `entry` holds no counts."""
    counts = entry.get("counts")
    if not isinstance(counts, dict):
        return None
    refs = sorted(r for r in counts if not r.startswith("<"))
    hyps = sorted({h for row in counts.values() for h in row if not h.startswith("<")} | set(refs))
    rows = refs + (["<ins>"] if "<ins>" in counts else [])
    cols = hyps + ["<del>"]
    matrix = [[counts.get(r, {}).get(h, 0) for h in cols] for r in rows]
    labels = cols if len(rows) == len(cols) else None
    if labels is None:  # pad to a square so rows and columns share labels
        labels = sorted(set(rows) | set(cols), key=lambda w: (w.startswith("<"), w))
        matrix = [[counts.get(r, {}).get(h, 0) for h in labels] for r in labels]
    return labels, matrix
