"""Parallel corpora as the translation task's Datasets, its readability check and its cell scores.

A :class:`~e2elab.data.dataset.Dataset` of the translation task holds source sentences in ``X``
and their reference translations in ``y``; the corpus's own splits become the Dataset's
``train`` / ``val`` / ``test`` parts (``test_2016_flickr`` and other ``test*`` files are test).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..data.dataset import Dataset
from ..data.entries import SPLIT_NAMES
from ..errors import DataError
from . import metrics
from .corpus import ParallelCorpus, read_parallel_folder, read_parallel_manifest

# A folder's name ends in its language pair: "multi30k.de-en", "iwslt14_de-en", "de-en".
_LANGUAGE_PAIR = re.compile(r"(?:^|[._-])([a-z]{2,3})-([a-z]{2,3})$")


def language_pair(folder: Path) -> tuple[str, str]:
    """(source, target) languages named at the end of `folder`'s name; DataError saying how to name it."""
    match = _LANGUAGE_PAIR.search(folder.name.lower())
    if match is None:
        raise DataError(folder, "does not name its language pair: end the folder's name with SOURCE-TARGET "
                                "(e.g. corpus.de-en to translate its <split>.de files into <split>.en)")
    return match.group(1), match.group(2)


def read_folder_dataset(folder: str | Path, on_error: str = "raise", source: str | None = None,
                        target: str | None = None, splits: list[str] | None = None) -> Dataset:
    """The pairs of a folder of ``<split>.<language>[.gz]`` files; the languages default to the
    pair its name ends in (:func:`language_pair`)."""
    folder = Path(folder)
    if source is None or target is None:
        source, target = language_pair(folder)
    corpus = read_parallel_folder(folder, source, target, splits, on_error=on_error)
    return corpus_dataset(corpus, folder)


def read_manifest_dataset(path: str | Path, on_error: str = "raise") -> Dataset:
    """The pairs of a tsv manifest with ``source`` and ``target`` (and optionally ``split``) columns."""
    return corpus_dataset(read_parallel_manifest(path, on_error=on_error), Path(path))


def corpus_dataset(corpus: ParallelCorpus, source: Path) -> Dataset:
    """`corpus` as a translation Dataset; pairs skipped while reading are listed by reason."""
    split = [_split_name(name) for name in corpus.split]
    skipped = [(str(source), f"{count} pair(s): {reason}") for reason, count in sorted(corpus.skipped.items())]
    return Dataset(X=list(corpus.sources), y=list(corpus.targets), task="translation", split=split,
                   source=str(source), skipped=skipped)


def _split_name(name: str) -> str:
    if name in SPLIT_NAMES:
        return SPLIT_NAMES[name]
    return "test" if name.startswith("test") else name


def read_sentence(item) -> str:
    """One source sentence, checked: a non-empty str of text (no NUL, no undecodable bytes)."""
    if not isinstance(item, str):
        raise DataError(None, f"is a {type(item).__name__}, not a sentence (str)")
    if not item.strip():
        raise DataError(None, "is an empty sentence")
    if "\x00" in item:
        raise DataError(None, "holds binary data (a NUL character)")
    try:
        item.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8, decoded leniently
        raise DataError(None, "holds bytes that are not UTF-8 text") from None
    return item


def text_file_sentences(items, names) -> tuple[list[str], list[str]]:
    """(sentences, names): every item that is the path of a ``.txt`` file stands for its lines, one
    sentence each (named ``FILE:LINE``); any other item is a sentence itself."""
    from .corpus import read_lines

    sentences, out_names = [], []
    for item, name in zip(items, names):
        if isinstance(item, str) and item.lower().endswith(".txt") and Path(item).is_file():
            for number, line in enumerate(read_lines(item), start=1):
                if line.strip():
                    sentences.append(line)
                    out_names.append(f"{Path(item).name}:{number}")
        else:
            sentences.append(item)
            out_names.append(name)
    return sentences, out_names


def command_line_sentences(inputs: list[str]) -> tuple[list[str], list[str]]:
    """The INPUT arguments of ``e2elab predict`` / ``explain`` for a translation model: sentences,
    and ``.txt`` files standing for their lines (see :func:`text_file_sentences`)."""
    return text_file_sentences(inputs, inputs)


def translation_scores(references: list[str], hypotheses, labels=None) -> dict:
    """One experiment cell's scores: the error 1 - BLEU/100 as "metric", BLEU and chrF (0..100)
    and sacreBLEU's signature. A translation has no confusion matrix; `labels` is unused."""
    hypotheses = ["" if h is None else str(h) for h in hypotheses]
    scores = metrics.scores(hypotheses, list(references))
    return {"metric": 1.0 - scores["bleu"] / 100.0, **scores, "confusion": {}}


def no_confusion(entry: dict):
    """The report section's confusion reader: translations draw none."""
    return None
