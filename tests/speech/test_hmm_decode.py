"""Word-loop Viterbi decoding: words, phones and times from a known emission pattern; LM and penalty."""

import numpy as np
import pytest

from e2elab.speech.hmm_decode import BigramLM, build_graph, phone_posteriors, segment, viterbi_decode

PHONES = ["AA", "B", "IY", "SIL"]
PRONS = {"ah": ["AA"], "bee": ["B", "IY"]}
INDEX = {p: i for i, p in enumerate(PHONES)}


def _emissions(phone_frames, n_states=1):
    """State log-likelihoods (T, S) that favour the listed phone at each frame."""
    frames = []
    for phone, count in phone_frames:
        row = np.full(len(PHONES) * n_states, -20.0)
        row[INDEX[phone] * n_states:(INDEX[phone] + 1) * n_states] = 0.0
        frames.extend([row] * count)
    return np.array(frames)


def _graph(n_states=1, self_prob=0.5):
    log_self = np.full(len(PHONES) * n_states, np.log(self_prob))
    return build_graph(["ah", "bee"], PRONS, INDEX, n_states, log_self)


def test_decodes_words_phones_and_times():
    graph = _graph()
    lm = BigramLM(["ah", "bee"], kind="loop")
    state_ll = _emissions([("SIL", 3), ("B", 2), ("IY", 3), ("SIL", 2), ("AA", 4), ("AA", 0), ("SIL", 1)])
    hyp = viterbi_decode(graph, lm, state_ll)
    assert hyp.words == ["bee", "ah"]
    words, phones = segment(graph, hyp.positions, lm.words, PHONES, 1, state_ll, hop_seconds=0.01)
    assert [w["word"] for w in words] == ["bee", "ah"]
    assert (words[0]["start"], words[0]["end"]) == (0.03, 0.08)  # silence after the word excluded
    assert (words[1]["start"], words[1]["end"]) == (0.10, 0.14)
    assert all(0.9 < w["confidence"] <= 1.0 for w in words)
    assert [p["phone"] for p in phones] == ["SIL", "B", "IY", "SIL", "AA", "SIL"]


def test_repeated_word_is_two_words():
    graph = _graph(n_states=2)
    lm = BigramLM(["ah", "bee"], kind="loop")
    state_ll = _emissions([("AA", 3), ("SIL", 3), ("AA", 3)], n_states=2)
    assert viterbi_decode(graph, lm, state_ll).words == ["ah", "ah"]


def test_insertion_penalty_and_lm_weight_remove_words():
    graph = _graph()
    # Frames that alternate quickly between AA and B IY: without a penalty, many words.
    pattern = [("AA", 2), ("B", 1), ("IY", 1)] * 3
    state_ll = _emissions(pattern) * 0.5  # 10 nats per mismatched frame
    lm = BigramLM(["ah", "bee"], kind="loop")
    free = viterbi_decode(graph, lm, state_ll, insertion_penalty=0.0)
    strict = viterbi_decode(graph, lm, state_ll, insertion_penalty=-20.0)
    assert free.words == ["ah", "bee"] * 3
    assert len(strict.words) < len(free.words)
    assert len(strict.words) >= 1


def test_bigram_from_transcripts():
    lm = BigramLM(["ah", "bee"], [["ah", "bee"], ["ah", "bee"], ["bee"]], kind="bigram", k=0.1)
    assert lm.matrix[0, 1] > lm.matrix[0, 0]  # "ah bee" seen, "ah ah" not
    assert lm.start[0] > lm.start[1] or lm.start[0] == pytest.approx(lm.start[1])
    np.testing.assert_allclose(np.exp(np.r_[lm.matrix[0], lm.end[0]]).sum(), 1.0)
    with pytest.raises(ValueError, match="lm"):
        BigramLM(["ah"], [["ah"]], kind="trigram")


def test_single_word_lm_blocks_insertions():
    graph = _graph()
    lm = BigramLM(["ah", "bee"], [["ah"], ["bee"]] * 50, kind="bigram", k=0.01)
    state_ll = _emissions([("AA", 3), ("SIL", 1), ("AA", 3)]) * 0.2
    assert viterbi_decode(graph, lm, state_ll, lm_weight=5.0).words == ["ah"]


def test_phone_posteriors_sum_to_one():
    post = phone_posteriors(np.random.default_rng(0).normal(size=(5, 8)), 4, 2)
    np.testing.assert_allclose(post.sum(1), 1.0)
