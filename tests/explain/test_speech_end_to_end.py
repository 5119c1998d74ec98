"""The end-to-end speech explanation: CTC probability, alignment and attribution on small networks."""

import itertools

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

import e2elab.explain.speech_end_to_end as speech_explain
from e2elab.errors import AudioError
from e2elab.explain import explain
from e2elab.explain.speech_end_to_end import TranscriptLogProb, explain_ctc_clip, noise_baseline, pool_frames
from e2elab.speech.end_to_end import EndToEndSpeechRecognizer
from e2elab.speech.ctc import CharVocabulary
from e2elab.speech.model import SpeechCTCModel


class FixedPosteriors(torch.nn.Module):
    """A 'network' whose frame log-probabilities are fixed, scaled by the waveform's first sample."""

    def __init__(self, log_probs):
        super().__init__()
        self.log_probs = torch.as_tensor(log_probs, dtype=torch.float32)

    def forward(self, waves, lengths):
        logits = self.log_probs[None] * waves[:, :1, None]  # (B, T, V)
        return logits.log_softmax(-1), torch.full((waves.shape[0],), self.log_probs.shape[0])


def collapse(path):
    out, previous = [], None
    for token in path:
        if token != previous and token != 0:
            out.append(token)
        previous = token
    return out


def test_transcript_log_probability_sums_over_all_ctc_paths():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 3)) * 2
    log_probs = logits - logsumexp(logits, axis=1, keepdims=True)
    labels = [1, 2]
    brute = logsumexp([sum(log_probs[t, s] for t, s in enumerate(path))
                       for path in itertools.product(range(3), repeat=5) if collapse(path) == labels])
    scorer = TranscriptLogProb(FixedPosteriors(logits), labels)
    value = float(scorer(torch.ones(1, 10))[0, 0])
    assert value == pytest.approx(brute, abs=1e-4)


def test_pool_frames_sums_blocks():
    np.testing.assert_allclose(pool_frames(np.arange(7.0), 3), [3.0, 12.0, 6.0])


@pytest.fixture(scope="module")
def tiny_network():
    torch.manual_seed(0)
    vocabulary = CharVocabulary()
    return SpeechCTCModel(len(vocabulary), 8000, "sinc", 8, 8, 1, 0.0).eval(), vocabulary


def test_clip_explanation_has_alignment_scores_and_figure(tiny_network, tmp_path):
    network, vocabulary = tiny_network
    wave = (np.random.default_rng(1).normal(size=2400) * 0.1).astype(np.float32)
    records = []
    for method, sanity in (("integrated_gradients", True), ("occlusion", False)):
        records += explain_ctc_clip(network, wave, 8000, "to a", ["<blank>"] + list(vocabulary.chars), vocabulary.encode,
                                    network.samples_per_frame, "clip", methods=[method], out_dir=tmp_path, n_steps=4,
                                    internal_batch_size=32, sanity=sanity)
    for record in records:
        words = record["alignment"]["words"]
        assert [w["word"] for w in words] == ["to", "a"]
        assert 0 <= words[0]["start"] < words[0]["end"] <= words[1]["start"] < words[1]["end"] <= 0.3 + 1e-9
        assert len(record["time_relevance"]) == 30  # 0.3 s in 10 ms frames
        scores = record["scores"]
        assert isinstance(scores["trustworthy"], bool)
        assert 0 <= scores["deletion_auc"] <= 1 and 0 <= scores["insertion_auc_random"] <= 1
        assert (tmp_path / f"clip.{record['method']}.png").stat().st_size > 10_000
    assert records[0]["scores"]["randomisation_spearman"] is not None
    assert records[1]["scores"]["randomisation_spearman"] is None


def test_integrated_gradients_over_time_add_up_to_the_log_probability_change(tiny_network):
    network, vocabulary = tiny_network
    wave = (np.random.default_rng(2).normal(size=2400) * 0.1).astype(np.float32)
    records = explain_ctc_clip(network, wave, 8000, "a", ["<blank>"] + list(vocabulary.chars), vocabulary.encode,
                               network.samples_per_frame, "clip", methods=["integrated_gradients"], n_steps=64,
                               sanity=False, faithfulness=False)
    scorer = TranscriptLogProb(network, vocabulary.encode("a"))
    with torch.no_grad():
        change = float(scorer(torch.from_numpy(wave)[None])[0, 0] - scorer(torch.from_numpy(noise_baseline(wave))[None])[0, 0])
    assert records[0]["time_relevance"].sum() == pytest.approx(change, rel=0.1, abs=0.05)


def test_unknown_speech_method_is_an_error(tiny_network):
    network, vocabulary = tiny_network
    with pytest.raises(ValueError, match="unknown method"):
        explain_ctc_clip(network, np.zeros(800, np.float32) + 0.1, 8000, "a", ["<blank>"] + list(vocabulary.chars),
                         vocabulary.encode, network.samples_per_frame, "clip", methods=["gradcam"])


def test_occlusion_windows_are_capped_by_lengthening_the_cells(tiny_network, monkeypatch):
    network, vocabulary = tiny_network
    monkeypatch.setattr(speech_explain, "MAX_OCCLUSION_WINDOWS", 16)
    wave = (np.random.default_rng(3).normal(size=8000) * 0.1).astype(np.float32)  # 1 s: 160 cells of 50 ms
    record = explain_ctc_clip(network, wave, 8000, "a", ["<blank>"] + list(vocabulary.chars), vocabulary.encode,
                              network.samples_per_frame, "clip", methods=["occlusion"], sanity=False,
                              faithfulness=False)[0]
    assert record["work"]["cell_seconds"] == pytest.approx(0.5)
    assert record["work"]["occlusion_windows"] <= 16 + speech_explain.N_BANDS  # the last, partial cell of each band
    assert len(record["time_relevance"]) == 100


def test_clip_limit_is_enforced_before_any_work():
    two_seconds = (np.random.default_rng(4).normal(size=32000) * 0.1).astype(np.float32)  # bare arrays: 16 kHz
    unfitted = EndToEndSpeechRecognizer(max_seconds=1.0)  # refused before the (missing) network is needed
    with pytest.raises(AudioError, match="input-0: clip is 2.0 s long, over the limit of 1 s"):
        explain(unfitted, [two_seconds])
    with pytest.raises(AudioError, match="over the limit of 0.5 s"):
        explain(EndToEndSpeechRecognizer(), [two_seconds], max_seconds=0.5)
