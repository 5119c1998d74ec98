"""How the end-to-end recogniser turns CTC posteriors into words, as one immutable value.

The searches themselves live in :mod:`e2elab.speech.ctc_decode`; `CTCDecoding` holds the
settings a user may change (the search, its beam, the word language model) and runs the search
it names on one clip's posteriors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Choice, Int, Real, validate_constraints
from .ctc import greedy_decode
from .ctc_decode import (
    LexiconTrie,
    WordNgramLM,
    lexicon_beam_search,
    prefix_beam_search,
)

DECODERS = ("greedy", "beam", "lexicon")


@dataclass(frozen=True)
class CTCDecoding:
    """Decoding settings, passed as ``EndToEndSpeechRecognizer(decoder=...)``.

    A name ("greedy", "beam", "lexicon") stands for ``CTCDecoding(method=name)``; derive another
    value with ``dataclasses.replace(CTCDecoding(), lm_weight=1.0)``.

    Parameters
    ----------
    method : {"lexicon", "beam", "greedy"}, default="lexicon"
        "lexicon": beam search that spells only the words seen in training (plus the pipeline's
        `words`), scored with a word n-gram model of the training transcripts; "beam":
        open-vocabulary prefix beam search; "greedy": the best label of every frame.
    beam_width : int, default=8
        Hypotheses kept per frame ("beam" and "lexicon"); wider is slower and rarely better.
    lm_order : int, default=2
        Order of the word n-gram model ("lexicon"); 0: no language model.
    lm_weight : float, default=0.5
        Weight of the language model's log-probability against the network's.
    word_bonus : float, default=0.0
        Added per word; raise it when decoding drops words, lower it when it inserts them.
    """

    method: str = "lexicon"
    beam_width: int = 8
    lm_order: int = 2
    lm_weight: float = 0.5
    word_bonus: float = 0.0

    _constraints: ClassVar[dict] = {"method": [Choice(*DECODERS)], "beam_width": [Int(1)], "lm_order": [Int(0)],
                    "lm_weight": [Real(0)], "word_bonus": [Real()]}

    def __post_init__(self):
        validate_constraints(self._constraints, self.to_dict(), type(self).__name__)

    @classmethod
    def of(cls, decoder: str | CTCDecoding) -> CTCDecoding:
        """The settings a pipeline's `decoder` parameter stands for."""
        return decoder if isinstance(decoder, cls) else cls(method=decoder)

    def to_dict(self) -> dict:
        """The fields as plain JSON values (how e2elab.json stores the settings)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> CTCDecoding:
        return cls(**fields)

    def decode(self, log_probs: np.ndarray, trie: LexiconTrie, space: int, lm: WordNgramLM | None) -> list[int]:
        """The label sequence of one clip's per-frame log-probabilities (T, V)."""
        if self.method == "greedy":
            return greedy_decode(log_probs)
        if self.method == "beam":
            return list(prefix_beam_search(log_probs, self.beam_width)[0][0])
        found = lexicon_beam_search(log_probs, trie, space, lm, self.lm_weight, self.word_bonus, self.beam_width)
        # No listed word fits a clip too short for any of them: fall back to what the frames say.
        return list(found[0][0]) if found else greedy_decode(log_probs)
