"""Subword vocabularies: byte-pair encoding learned from the training sentences.

A word-level vocabulary either grows without bound or maps every rare word to one unknown token;
BPE splits rare words into frequent pieces (``▁Fahr`` ``rad``) so that a few thousand units cover
any sentence of the training languages. Each vocabulary is a Hugging Face `tokenizers` model
learned from the training text only (nothing is downloaded) and is saved as that library's own
JSON string, so a saved translator holds no pickled object.

Text is NFC-normalised, runs of white space become one space and punctuation is split from words;
spaces are kept inside the pieces (SentencePiece's ``▁``), so decoding the pieces of a sentence
gives the sentence back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

from ..errors import DataError

SPECIAL_TOKENS = ("<pad>", "<unk>", "<s>", "</s>")
PAD, UNK, BOS, EOS = range(len(SPECIAL_TOKENS))


class SubwordVocabulary:
    """One BPE model: text <-> token ids. Special tokens take ids 0-3 (PAD, UNK, BOS, EOS)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        for expected, token in enumerate(SPECIAL_TOKENS):
            if tokenizer.token_to_id(token) != expected:
                raise DataError(None, f"subword vocabulary gives {token!r} the id {tokenizer.token_to_id(token)}, "
                                      f"not {expected}; it was not made by e2elab")

    @classmethod
    def learn(cls, texts: Sequence[str], vocab_size: int, min_frequency: int = 2,
              progress: bool = False) -> SubwordVocabulary:
        """BPE merges learned from `texts` until the vocabulary holds `vocab_size` units (or no pair
        occurs `min_frequency` times)."""
        from tokenizers import Tokenizer, models, trainers

        tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS[UNK]))
        _configure(tokenizer)
        trainer = trainers.BpeTrainer(vocab_size=int(vocab_size), min_frequency=int(min_frequency),
                                      special_tokens=list(SPECIAL_TOKENS), show_progress=bool(progress))
        tokenizer.train_from_iterator(texts, trainer, length=len(texts))
        return cls(tokenizer)

    @classmethod
    def from_json(cls, text: str) -> SubwordVocabulary:
        from tokenizers import Tokenizer

        try:
            return cls(Tokenizer.from_str(text))
        except Exception as error:  # tokenizers raises its own Exception subclass on bad JSON
            raise DataError(None, f"subword vocabulary cannot be read: {error}") from error

    def to_json(self) -> str:
        return self.tokenizer.to_str()

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without BOS/EOS."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids`; special tokens are left out."""
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=True)

    def pieces(self, ids: Sequence[int]) -> list[str]:
        """The subword of each id, e.g. ``["▁Ein", "▁Mann", "."]``."""
        return [self.tokenizer.id_to_token(int(i)) for i in ids]


def _configure(tokenizer) -> None:
    from tokenizers import Regex, decoders, normalizers, pre_tokenizers

    tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                                 normalizers.Strip()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    tokenizer.decoder = decoders.Metaspace()


@dataclass
class SubwordCodec:
    """The source and target vocabularies of a translator; one shared object when joint.

    A joint vocabulary lets the network tie the source embedding to the target one (names and
    numbers are copied through unchanged); separate ones give each language all its units.
    """

    source: SubwordVocabulary
    target: SubwordVocabulary

    @property
    def joint(self) -> bool:
        return self.source is self.target

    @classmethod
    def learn(cls, sources: Sequence[str], targets: Sequence[str], vocab_size: int, joint: bool = True,
              min_frequency: int = 2, progress: bool = False) -> SubwordCodec:
        """Vocabularies learned from the training pairs; `vocab_size` is per vocabulary."""
        if joint:
            shared = SubwordVocabulary.learn(list(sources) + list(targets), vocab_size, min_frequency, progress)
            return cls(shared, shared)
        return cls(SubwordVocabulary.learn(sources, vocab_size, min_frequency, progress),
                   SubwordVocabulary.learn(targets, vocab_size, min_frequency, progress))

    def to_json(self) -> str:
        return json.dumps({"joint": self.joint, "source": self.source.to_json(),
                           "target": None if self.joint else self.target.to_json()})

    @classmethod
    def from_json(cls, text: str) -> SubwordCodec:
        try:
            data = json.loads(text)
            source = SubwordVocabulary.from_json(data["source"])
            target = source if data["joint"] else SubwordVocabulary.from_json(data["target"])
        except (TypeError, KeyError, json.JSONDecodeError) as error:
            raise DataError(None, f"subword vocabularies cannot be read: {error!r}") from error
        return cls(source, target)
