"""Word alignment: EM recovers a planted word-for-word translation, and symmetrisation combines
the two directions as Koehn et al. describe."""

import numpy as np
import pytest

from e2elab.translation.alignment import align_direction
from e2elab.translation.symmetrise import symmetrise, symmetrise_corpus


def planted_corpus(n_pairs=300, vocabulary=12, seed=0):
    """Target word = mapping[source word]; target order swaps neighbouring words now and then."""
    rng = np.random.default_rng(seed)
    mapping = rng.permutation(vocabulary)
    sources, targets, orders = [], [], []
    for _ in range(n_pairs):
        source = rng.choice(vocabulary, size=rng.integers(3, 8), replace=False)
        order = np.arange(len(source))
        for i in range(len(order) - 1):
            if rng.random() < 0.2:
                order[[i, i + 1]] = order[[i + 1, i]]
        sources.append(source)
        targets.append(mapping[source[order]])
        orders.append(order)
    return sources, targets, orders, mapping


def precision_recall(found: list[np.ndarray], truth: list[set]) -> tuple[float, float]:
    found = [{tuple(link) for link in links.tolist()} for links in found]
    right = sum(len(f & t) for f, t in zip(found, truth))
    return right / max(1, sum(map(len, found))), right / sum(map(len, truth))


@pytest.mark.parametrize("hmm_iterations", [0, 4])
def test_alignment_recovers_planted_mapping(hmm_iterations):
    sources, targets, orders, mapping = planted_corpus()
    result = align_direction(targets, sources, 12, 12, model1_iterations=5, hmm_iterations=hmm_iterations,
                             progress=False)
    truth = [{(t, int(order[t])) for t in range(len(order))} for order in orders]  # (target, source)
    precision, recall = precision_recall(result.links, truth)
    # The HMM leaves a few swapped words to NULL rather than pay for two jumps; none is wrong.
    assert precision > 0.99 and recall > 0.95
    # The translation table puts its mass on the planted pairs.
    best_target = {}
    for key, p in zip(result.table_keys, result.table):
        given, emitted = divmod(int(key), 12)
        if given < 12 and p > best_target.get(given, (0.0, None))[0]:
            best_target[given] = (p, emitted)
    assert all(best_target[s][1] == mapping[s] for s in range(12))


def test_symmetrised_alignment_finds_the_planted_links():
    sources, targets, orders, _ = planted_corpus()
    target_from_source = align_direction(targets, sources, 12, 12, progress=False)
    source_from_target = align_direction(sources, targets, 12, 12, progress=False)
    links = symmetrise_corpus(target_from_source.links, source_from_target.links)
    truth = [{(int(order[t]), t) for t in range(len(order))} for order in orders]  # (source, target)
    precision, recall = precision_recall(links, truth)
    assert precision > 0.99 and recall > 0.97


def test_em_never_lowers_the_likelihood():
    sources, targets, _, _ = planted_corpus(n_pairs=100, seed=1)
    result = align_direction(targets, sources, 12, 12, model1_iterations=4, hmm_iterations=4, progress=False)
    model1, hmm = result.log_likelihoods[:4], result.log_likelihoods[4:]
    assert np.all(np.diff(model1) >= -1e-6) and np.all(np.diff(hmm) >= -1e-6)
    # Neighbouring target words come from neighbouring source words: the +1 jump dominates.
    max_jump = (len(result.jumps) - 1) // 2
    assert result.jumps.argmax() == max_jump + 1


def test_empty_sentences_get_no_links():
    result = align_direction([np.array([0, 1]), np.array([], dtype=np.int64)], [np.array([1, 0]), np.array([0])],
                             2, 2, progress=False)
    assert len(result.links) == 2 and result.links[1].shape == (0, 2)


def test_grow_diag_final_and_on_a_hand_worked_example():
    # Source "a b c", target "x y z": forward links a-x, b-y, c-y; backward a-x, b-y, c-z.
    forward = {(0, 0), (1, 1), (2, 1)}
    backward = {(0, 0), (1, 1), (2, 2)}
    assert symmetrise(forward, backward, "intersection") == {(0, 0), (1, 1)}
    assert symmetrise(forward, backward, "union") == forward | backward
    # (2, 1) and (2, 2) neighbour (1, 1) diagonally or sideways and each joins unaligned word c.
    assert symmetrise(forward, backward, "grow-diag") == {(0, 0), (1, 1), (2, 1), (2, 2)}
    lonely_forward, lonely_backward = {(0, 0), (2, 2)}, {(0, 0)}
    assert symmetrise(lonely_forward, lonely_backward, "grow-diag") == {(0, 0)}
    assert symmetrise(lonely_forward, lonely_backward, "grow-diag-final-and") == {(0, 0), (2, 2)}
    # final-and adds a link only when both its words are still unaligned; final adds it if either is.
    forward, backward = {(0, 0), (0, 2)}, {(0, 0)}
    assert symmetrise(forward, backward, "grow-diag-final-and") == {(0, 0)}
    assert symmetrise(forward, backward, "grow-diag-final") == {(0, 0), (0, 2)}
    with pytest.raises(ValueError, match="symmetrisation method"):
        symmetrise(forward, backward, "grow")


def test_symmetrise_corpus_reads_each_direction_in_its_own_order():
    target_from_source = [np.array([[0, 1], [1, 0]])]  # (target position, source position)
    source_from_target = [np.array([[1, 0], [0, 1]])]  # (source position, target position)
    links = symmetrise_corpus(target_from_source, source_from_target)
    assert links[0].tolist() == [[0, 1], [1, 0]]
