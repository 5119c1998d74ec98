"""Input files of predict, explain and evaluate, checked against the model's task before any work.

An image handed to a speech model fails deep inside an audio decoder with the decoder's words;
telling from the name (or, failing that, the first bytes) what a file holds lets the error say
what went wrong: which file, what it is, and what the model expects.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError


def input_kind(path: Path) -> str | None:
    """The item kind ("audio", "image", ...) of a registered task that reads files with `path`'s
    extension, else the kind its first bytes show; None when neither tells."""
    from ..data.sniff import sniff_format
    from ..tasks import task_for_file, tasks

    by_name = task_for_file(path)
    if by_name is not None:
        return by_name.item_kind
    found = sniff_format(path) or ""
    return next((task.item_kind for task in tasks() if found.endswith(task.item_kind)), None)


def check_inputs(paths: list[str], model, model_dir: str) -> None:
    """Refuse a missing file, or one of another kind than the model reads, naming both."""
    from ..tasks import get_task

    task = get_task(model.task)
    expected = task.item_kind
    for text in paths:
        path = Path(text)
        if not path.is_file():
            raise DataError(path, "no such file")
        kind = input_kind(path)
        if kind is not None and kind != expected:
            raise DataError(path, f"{_a(kind)} {kind} file, but {model_dir} is {_a(task.name)} {task.name} model, "
                                  f"which expects {expected} files ({', '.join(task.file_extensions)})")


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def command_line_items(inputs: list[str], model, model_dir: str) -> tuple[list, list[str] | None]:
    """(items, names) for the INPUT arguments of predict and explain: files of the model's kind,
    checked (see :func:`check_inputs`; names None: the files name themselves), or what the task
    makes of its inputs (sentences, named by their text or file and line)."""
    from ..tasks import get_task, resolve

    task = get_task(model.task)
    if task.inputs is None:
        check_inputs(inputs, model, model_dir)
        return list(inputs), None
    return resolve(task.inputs)(list(inputs))
