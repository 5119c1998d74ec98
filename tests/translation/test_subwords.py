import pytest

from e2elab.errors import DataError
from e2elab.translation.subwords import BOS, EOS, PAD, SPECIAL_TOKENS, UNK, SubwordCodec, SubwordVocabulary

GERMAN = ["Ein Mann fährt Fahrrad.", "Zwei Hunde spielen im Schnee!", "Ein Kind, das lacht.",
          "Eine Frau (mit Hut) liest 3 Bücher."]
ENGLISH = ["A man rides a bike.", "Two dogs play in the snow!", "A child who laughs.",
           "A woman (with a hat) reads 3 books."]


def test_special_tokens_take_the_first_ids():
    vocabulary = SubwordVocabulary.learn(GERMAN, vocab_size=120)
    assert (PAD, UNK, BOS, EOS) == (0, 1, 2, 3)
    assert vocabulary.pieces([PAD, UNK, BOS, EOS]) == list(SPECIAL_TOKENS)


def test_encoding_then_decoding_gives_the_text_back():
    vocabulary = SubwordVocabulary.learn(GERMAN, vocab_size=120, min_frequency=1)
    ids = vocabulary.encode(GERMAN)
    assert [vocabulary.decode(sentence) for sentence in ids] == GERMAN
    # Unseen words of seen letters split into smaller pieces, and still come back whole.
    (unseen,) = vocabulary.encode(["Hunde lachen."])
    assert vocabulary.decode(unseen) == "Hunde lachen."


def test_white_space_is_normalised():
    vocabulary = SubwordVocabulary.learn(GERMAN, vocab_size=120)
    (ids,) = vocabulary.encode(["  Ein   Mann \t fährt.  "])
    assert vocabulary.decode(ids) == "Ein Mann fährt."


def test_merges_shorten_frequent_words():
    vocabulary = SubwordVocabulary.learn(GERMAN * 5, vocab_size=200)
    (ids,) = vocabulary.encode(["Ein Mann"])
    assert vocabulary.pieces(ids) == ["▁Ein", "▁Mann"]


def test_joint_codec_shares_one_vocabulary():
    codec = SubwordCodec.learn(GERMAN, ENGLISH, vocab_size=150, joint=True)
    assert codec.joint and codec.source is codec.target
    (ids,) = codec.target.encode(["A man"])
    assert UNK not in ids


def test_separate_codec_keeps_each_language_to_itself():
    codec = SubwordCodec.learn(GERMAN, ENGLISH, vocab_size=150, joint=False)
    assert not codec.joint
    # "ü" occurs only in German text, so the English vocabulary cannot spell it.
    assert UNK in codec.target.encode(["Bücher"])[0]
    assert UNK not in codec.source.encode(["Bücher"])[0]


@pytest.mark.parametrize("joint", [True, False])
def test_json_round_trip_encodes_identically(joint):
    codec = SubwordCodec.learn(GERMAN, ENGLISH, vocab_size=150, joint=joint)
    loaded = SubwordCodec.from_json(codec.to_json())
    assert loaded.joint == joint
    assert loaded.source.encode(GERMAN) == codec.source.encode(GERMAN)
    assert loaded.target.encode(ENGLISH) == codec.target.encode(ENGLISH)


def test_unreadable_json_raises_data_error():
    with pytest.raises(DataError, match="subword"):
        SubwordCodec.from_json('{"joint": true, "source": "not a tokenizer"}')
    with pytest.raises(DataError, match="subword"):
        SubwordCodec.from_json("[1, 2")
