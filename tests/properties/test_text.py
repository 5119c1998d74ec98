"""Transcript normalisation maps into the alphabet and is idempotent."""

from hypothesis import given, settings
from hypothesis import strategies as st

from e2elab.data.text import ALPHABET, normalize_transcript
from e2elab.errors import DataError

TRANSCRIPTS = st.one_of(st.text(max_size=40), st.text(alphabet="abcXYZ 019'.,-éÅ’\t\n", max_size=40))


@settings(max_examples=100, deadline=None)
@given(TRANSCRIPTS)
def test_normalisation_is_idempotent_and_stays_in_the_alphabet(text):
    try:
        once = normalize_transcript(text)
    except DataError:
        return
    assert set(once) <= set(ALPHABET)
    assert once == once.strip() and "  " not in once
    assert normalize_transcript(once) == once
