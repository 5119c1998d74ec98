"""Lexicon lookup order (user file, CMUdict, letters), file parsing and errors."""

import pytest

from e2elab.speech.lexicon import Lexicon, LexiconError, letter_pronunciation, read_lexicon, transcript_words


def test_cmudict_lookup_strips_stress():
    phones, source = Lexicon().lookup("Seven")
    assert (phones, source) == (["S", "EH", "V", "AH", "N"], "cmudict")


def test_user_lexicon_overrides_cmudict(tmp_path):
    path = tmp_path / "lexicon.txt"
    path.write_text("; comment\nSEVEN s eh v n\nzorblax Z AO R B L AE K S\nTWO 0.5 T UW\n\n")
    lexicon = Lexicon(path)
    assert lexicon.lookup("seven") == (["S", "EH", "V", "N"], "user")
    assert lexicon.lookup("zorblax")[1] == "user"
    assert lexicon.lookup("two") == (["T", "UW"], "user")  # lexiconp.txt probability skipped
    assert lexicon.lookup("eight")[1] == "cmudict"


def test_fallback_to_letters_warns_with_the_words():
    lexicon = Lexicon()
    with pytest.warns(UserWarning, match="qzxv"):
        prons = lexicon.pronounce(["one", "qzxv"])
    assert prons["qzxv"] == letter_pronunciation("qzxv") == ["K", "Z", "K", "S", "V"]
    assert prons["one"] == ["W", "AH", "N"]


def test_missing_word_error_names_the_source():
    with pytest.raises(LexiconError, match=r"utt7.*'qzxv'"):
        Lexicon(fallback="none").pronounce(["qzxv"], source="utt7")
    with pytest.raises(LexiconError, match="123"):
        Lexicon().pronounce(["123"], source="utt8")  # no letters to spell


def test_malformed_lexicon_names_file_and_line(tmp_path):
    path = tmp_path / "lex.txt"
    path.write_text("ONE W AH N\nTWO\n")
    with pytest.raises(LexiconError, match=r"lex.txt:2"):
        read_lexicon(path)
    with pytest.raises(LexiconError, match="cannot read"):
        read_lexicon(tmp_path / "absent.txt")


def test_transcript_words():
    assert transcript_words("Four, two SEVEN!") == ["four", "two", "seven"]
