"""Parallel corpora as the translation task's Datasets, its readability check and its cell scores.

A :class:`TranslationDataset` holds source sentences in ``X`` and their reference translations
in ``y``, and the language pair they are in; the corpus's own splits become the Dataset's
``train`` / ``val`` / ``test`` parts (``test_2016_flickr`` and other ``test*`` files are test).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from ..data.dataset import Dataset
from ..data.entries import SPLIT_NAMES
from ..data.manifests import header_columns
from ..errors import DataError, ParameterError
from . import metrics
from .corpus import ParallelCorpus, read_parallel_folder, read_parallel_manifest

TASK = "translation"
# A folder's name ends in its language pair: "multi30k.de-en", "iwslt14_de-en", "de-en".
_LANGUAGE_PAIR = re.compile(r"(?:^|[._-])([a-z]{2,3})-([a-z]{2,3})$")


@dataclass(repr=False)
class TranslationDataset(Dataset):
    """A Dataset of sentence pairs that also records their languages.

    languages: (source, target) language codes, e.g. ("de", "en"); None where the data do not say
    (a manifest read without them). A model trained on the data keeps them, so that it can say
    what it translates and refuse test data of another pair.
    """

    languages: tuple[str, str] | None = None


def language_pair(folder: Path) -> tuple[str, str]:
    """(source, target) languages named at the end of `folder`'s name; DataError saying how to name it."""
    match = _LANGUAGE_PAIR.search(folder.name.lower())
    if match is None:
        raise DataError(folder, "does not name its language pair: end the folder's name with SOURCE-TARGET "
                                "(e.g. corpus.de-en to translate its <split>.de files into <split>.en)")
    return match.group(1), match.group(2)


def is_parallel_source(path: Path) -> bool:
    """Whether `path` is unmistakably a parallel corpus: a folder named for its language pair that
    holds the training files of both languages, or a table whose header names source and target."""
    if path.is_dir():
        match = _LANGUAGE_PAIR.search(path.name.lower())
        return match is not None and all(any(path.glob(f"train.{language}*")) for language in match.groups())
    return {"source", "target"} <= header_columns(path)


def read_folder_dataset(folder: str | Path, on_error: str = "raise", source: str | None = None,
                        target: str | None = None, splits: list[str] | None = None) -> TranslationDataset:
    """The pairs of a folder of ``<split>.<language>[.gz]`` files, which may hold several languages;
    a language not given is the one the folder's name ends in (:func:`language_pair`)."""
    folder = Path(folder)
    if source is None or target is None:
        named_source, named_target = language_pair(folder)
        source, target = source or named_source, target or named_target
    corpus = read_parallel_folder(folder, source, target, splits, on_error=on_error)
    return corpus_dataset(corpus, folder, (source, target))


def read_manifest_dataset(path: str | Path, on_error: str = "raise", source: str | None = None,
                          target: str | None = None) -> TranslationDataset:
    """The pairs of a tsv manifest with ``source`` and ``target`` (and optionally ``split``) columns.

    A manifest does not say its languages: `source` and `target` name them (both or neither)."""
    if (source is None) != (target is None):
        raise ParameterError(f"{path}: a manifest does not name its languages; give both the source and "
                             "the target language, or neither")
    languages = (source, target) if source is not None else None
    return corpus_dataset(read_parallel_manifest(path, on_error=on_error), Path(path), languages)


def read_language_pair(data: str, source: str | None, target: str | None,
                       on_error: str = "raise") -> TranslationDataset:
    """The parallel corpus `data` (a built-in name, a folder or a manifest) read for the pair
    `source` -> `target`; a language left None is the corpus's default one.

    Corpora hold several languages (multi30k: German, English, French, Czech), so the pair is a
    choice made when reading, not a property of the files.
    """
    from ..data.builtins import BUILTINS

    if data in BUILTINS:
        builtin = BUILTINS[data]
        chosen = {name: value for name, value in (("source", source), ("target", target)) if value is not None}
        if builtin.task != TASK or not {"source", "target"} <= set(inspect.signature(builtin.read).parameters):
            raise DataError(data, f"is a {builtin.task} data set of one language pair; a source and a "
                                  "target language are chosen only for parallel corpora")
        dataset = builtin.read(builtin.ensure(), on_error=on_error, **chosen)
        dataset.name = builtin.name
        return dataset
    path = Path(data).expanduser()
    if path.is_dir():
        return read_folder_dataset(path, on_error, source, target)
    if path.suffix.lower() == ".tsv" and path.is_file():
        return read_manifest_dataset(path, on_error, source, target)
    raise DataError(path, "is neither a built-in parallel corpus, a folder of <split>.<language>[.gz] files "
                          "nor a .tsv manifest with source and target columns")


def corpus_dataset(corpus: ParallelCorpus, source: Path,
                   languages: tuple[str, str] | None = None) -> TranslationDataset:
    """`corpus` as a translation Dataset; pairs skipped while reading are listed by reason."""
    split = [_split_name(name) for name in corpus.split]
    skipped = [(str(source), f"{count} pair(s): {reason}") for reason, count in sorted(corpus.skipped.items())]
    return TranslationDataset(X=list(corpus.sources), y=list(corpus.targets), task=TASK, split=split,
                              source=str(source), skipped=skipped, languages=languages)


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
    and ``.txt`` files standing for their lines (see :func:`text_file_sentences`).

    Each is checked before any is translated: an empty, binary or over-long one (the limits of
    the training corpora) is refused by its name, the sentence typed or ``FILE:LINE``.
    """
    from .corpus import MAX_CHARS, MAX_TOKENS, sentence_problem

    sentences, names = text_file_sentences(inputs, inputs)
    for sentence, name in zip(sentences, names):
        shown = name if name != sentence else repr(name if len(name) <= 40 else name[:40] + "...")
        try:
            read_sentence(sentence)
        except DataError as error:
            raise DataError(shown, error.reason) from None
        if sentence_problem(sentence) == "too long":
            raise DataError(shown, f"is too long to translate ({len(sentence.split())} words, {len(sentence)} "
                                   f"characters; at most {MAX_TOKENS} words and {MAX_CHARS} characters): split it "
                                   "into sentences")
    return sentences, names


def translation_scores(references: list[str], hypotheses, labels=None) -> dict:
    """One experiment cell's scores: the error 1 - BLEU/100 as "metric", BLEU and chrF (0..100)
    and sacreBLEU's signature. A translation has no confusion matrix; `labels` is unused."""
    hypotheses = ["" if h is None else str(h) for h in hypotheses]
    scores = metrics.scores(hypotheses, list(references))
    return {"metric": 1.0 - scores["bleu"] / 100.0, **scores, "confusion": {}}


def no_confusion(entry: dict):
    """The report section's confusion reader: translations draw none."""
    return None
