"""The training pairs both translators accept, with `on_error` deciding about the others.

A pair is usable when both sides are non-empty text (no NUL, no undecodable bytes); an unusable
one raises DataError naming it ("training item 3"), or is skipped and counted under
``on_error="skip"`` (:meth:`e2elab.base.PipelineMixin._skip_or_raise`).
"""

from __future__ import annotations

from ..errors import DataError, ParameterError
from .datasets import read_sentence


def sentence_list(items, name: str) -> list[str]:
    """`items` as a list; a single string (a sentence where a list of them belongs) is refused."""
    if isinstance(items, str):
        raise DataError(name, "is a single string; expected a sequence of sentences")
    return list(items)


def usable_pairs(model, X, y, what: str = "training") -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(sources, targets, skipped): the pairs of `X` and `y` whose both sides are text, and
    (item, reason) for those left out under the model's `on_error="skip"`."""
    sources, targets = sentence_list(X, "X"), sentence_list(y, "y")
    if len(sources) != len(targets):
        raise DataError(None, f"{len(sources)} {what} source sentences but {len(targets)} translations")
    kept_sources, kept_targets, skipped = [], [], []
    for index, (source, target) in enumerate(zip(sources, targets)):
        try:
            for side, sentence in (("source", source), ("translation", target)):
                try:
                    read_sentence(sentence)
                except DataError as error:
                    raise DataError(f"{what} item {index}", f"{side} {error.reason}") from None
        except DataError as error:
            model._skip_or_raise(error, skipped)
            continue
        kept_sources.append(source)
        kept_targets.append(target)
    if not kept_sources:
        raise DataError(None, f"no usable {what} sentence pairs")
    return kept_sources, kept_targets, skipped


def language_pair(languages) -> tuple[str, str] | None:
    """`languages` as the (source, target) language codes a translator is trained for, or None
    (not known); anything but two non-empty codes is refused."""
    if languages is None:
        return None
    pair = tuple(languages) if not isinstance(languages, str) else ()
    if len(pair) != 2 or not all(isinstance(code, str) and code.strip() for code in pair):
        raise ParameterError(f"languages must be a (source, target) pair of language codes such as "
                             f"('de', 'en'), not {languages!r}")
    return pair
