"""Unlabeled clips in `fit`: left out with a warning, refused when nothing is labelled, or
pseudo-labelled by self-training that fine-tunes each round from the last and resumes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import e2elab
from e2elab.errors import DataError
from e2elab.nn.schedule import SmallDataWarning
from e2elab.speech.semi_supervised import surest_transcripts

from .test_end_to_end import TRANSCRIPTS, synthesise, tiny
from .test_traditional import _model, corpus  # noqa: F401 (corpus is a fixture)


pytestmark = pytest.mark.usefixtures("one_thread")  # networks this small gain nothing from threads


@pytest.fixture(scope="module")
def clips():
    """Labelled clips of the tone words, and other clips of the same words to leave unlabeled."""
    labelled_rng, unlabeled_rng = np.random.default_rng(0), np.random.default_rng(1)
    return ([synthesise(t, labelled_rng) for t in TRANSCRIPTS], [synthesise(t, unlabeled_rng) for t in TRANSCRIPTS])


def _details(*confidences):
    return [{"text": " ".join(f"w{i}" for i in range(len(c))), "words": [{"confidence": x} for x in c]}
            for c in confidences]


def test_surest_transcripts_rank_clips_by_their_least_sure_word():
    details = _details([0.9, 0.2], [0.6], [], [0.8, 0.7], [0.3])
    chosen, texts = surest_transcripts(details, share=0.4)  # 2 of 5 clips
    assert chosen.tolist() == [1, 3] and texts.tolist() == ["w0", "w0 w1"]  # clip 0's mean is high, its worst word is not
    chosen, _ = surest_transcripts(details, share=1.0)
    assert chosen.tolist() == [0, 1, 3, 4]  # a clip decoded to no words is never a pseudo-label


def test_without_semi_supervised_unlabeled_clips_are_left_out_with_a_warning(clips):
    labelled, unlabeled = clips
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        with pytest.warns(UserWarning, match="left out 3 unlabeled training clips: semi_supervised='self_training'"):
            model = tiny(epochs=1).fit(labelled[:4] + unlabeled[:3], TRANSCRIPTS[:4] + ["", None, "  "],
                                       groups=list("abcdefg"))
    assert model.lexicon_ == ["go", "no", "on"] and not hasattr(model, "self_training_")


@pytest.mark.parametrize("semi_supervised", [None, "self_training"])
def test_no_labelled_clip_is_a_data_error(clips, semi_supervised):
    with pytest.raises(DataError, match="all 2 training clips are unlabeled.*give transcripts"):
        tiny(semi_supervised=semi_supervised).fit(clips[1][:2], ["", -1])


def test_traditional_pipeline_leaves_unlabeled_clips_out_and_says_so(corpus):  # noqa: F811
    X, y = corpus
    with pytest.warns(UserWarning, match="left out 2 unlabeled training clips: the traditional pipeline learns from "
                                         "transcribed clips only"):
        model = _model(flat_passes=1, passes_per_split=1).fit(X[:10] + X[10:12], y[:10] + ["", None])
    assert model.n_skipped_ == 0  # left out as unlabeled, not skipped as bad


def test_self_training_pseudo_labels_unlabeled_clips_fine_tunes_each_round_and_resumes(clips, tmp_path):
    labelled, unlabeled = clips
    X, y = labelled + unlabeled, TRANSCRIPTS + [""] * len(unlabeled)
    model = tiny(epochs=40, semi_supervised="self_training", checkpoint_dir=str(tmp_path), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        model.fit(X, y)
    rounds = model.self_training_
    assert rounds[0] == {"round": 0, "pseudo_labelled": 0, "left_out": 8}
    assert [r["pseudo_labelled"] for r in rounds[1:]] == [2, 4]  # a growing share: half of them by the last round
    # Each round after the first started from the weights the round before it left.
    for r in range(1, len(rounds)):
        assert e2elab.load(tmp_path / f"round-{r}" / "model").init_from == str(tmp_path / f"round-{r - 1}" / "model")
    assert model.score(unlabeled, TRANSCRIPTS) >= 0.75  # pseudo-labels did not lead the network astray
    assert model.semi_supervised == "self_training" and model.checkpoint_dir == str(tmp_path)  # parameters untouched

    # A rerun finds every round's last checkpoint and ends with the same network, training nothing again.
    rerun = tiny(epochs=40, semi_supervised="self_training", checkpoint_dir=str(tmp_path), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallDataWarning)
        rerun.fit(X, y)
    assert rerun.self_training_ == rounds
    for name, tensor in model.model_.state_dict().items():
        assert torch.equal(tensor, rerun.model_.state_dict()[name]), name
