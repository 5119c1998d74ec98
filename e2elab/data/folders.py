"""A data set in a folder of class sub-folders, with an optional ``train/ val/ test/`` level.

``ROOT/[train|val|test/]CLASS/[GROUP/]FILE``: the class folder's name is the label (images) or
the transcript (speech, normalised); a sub-folder below the class folder is the group (a
speaker). Without one, a speech clip is its own group (nothing can be held out better), unless
``group_pattern`` (a regular expression over the file name, its first group or the group named
``group``) says where the speaker is written. Files in an ``unlabeled/`` folder beside the class
folders have no label: images get ``UNLABELED`` (scikit-learn's -1), clips the empty transcript;
semi-supervised training uses them.
Stray files are listed in ``Dataset.skipped``, never fatal.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..errors import ManifestError
from .dataset import Dataset
from ..tasks import get_task
from .manifests import UNLABELED
from .entries import SPLIT_NAMES, Entries, file_kind, infer_task, item_kind_phrase, with_article


def _hidden(path: Path) -> bool:
    return path.name.startswith(".")


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not _hidden(p))


def load_folder(folder: str | Path, task: str | None = None, on_error: str = "raise", group_pattern: str | None = None) -> Dataset:
    """A folder of class sub-folders, with an optional ``train/ val/ test/`` level above them."""
    folder = Path(folder)
    top = _subdirs(folder)
    named = [d for d in top if d.name.lower() in SPLIT_NAMES]
    if named and len(named) != len(top):
        others = ", ".join(d.name for d in top if d not in named)
        raise ManifestError(folder, f"mixes split folders ({', '.join(d.name for d in named)}) with class folders ({others})")
    layers = [(SPLIT_NAMES[d.name.lower()], d) for d in named] if named else [(None, folder)]
    entries = Entries(on_error)
    found = []  # (split, class folder, group, file)
    for split, root in layers:
        for loose in sorted(p for p in root.iterdir() if p.is_file() and not _hidden(p)):
            entries.skipped.append((str(loose), "not inside a class folder"))
        for class_dir in _subdirs(root):
            for path in sorted(class_dir.rglob("*")):
                relative = path.relative_to(class_dir)
                if not path.is_file() or any(part.startswith(".") for part in relative.parts):
                    continue
                group = relative.parts[0] if len(relative.parts) > 1 else None
                found.append((split, class_dir, group, path))
    if not found:
        raise ManifestError(folder, "no files found: expected CLASS/FILE or train|val|test/CLASS/FILE")
    task = infer_task([p for *_, p in found], task, folder)
    kinds = Counter(file_kind(p) for *_, p in found)
    if not kinds[task]:
        other = ", ".join(f"{n} {k or 'other'}" for k, n in kinds.items())
        raise ManifestError(folder, f"no {get_task(task).item_kind} files for a {task} data set (found: {other})")
    pattern = re.compile(group_pattern) if group_pattern else None
    for split, class_dir, group, path in found:
        kind = file_kind(path)
        if kind != task:
            # Stray files (notes, thumbnails, the other modality) are listed, never fatal.
            what = item_kind_phrase(kind)
            entries.skipped.append((str(path), f"{what} in {with_article(task)} folder"))
            continue
        if pattern is not None:
            match = pattern.search(path.stem)
            if match is None:
                entries.bad(path, f"file name does not match group_pattern {group_pattern!r}", path)
                continue
            group = match.groupdict().get("group") or (match.group(1) if match.groups() else match.group(0))
        target = class_dir.name
        if class_dir.name.lower() == "unlabeled":
            target = UNLABELED if get_task(task).target_kind == "class" else ""
        entries.add(path, path, target, task, group, split)
    return entries.dataset(task, folder, folder.name)
