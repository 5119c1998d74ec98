"""ONNX export of the end-to-end speech recogniser: front-end in the graph, dynamic batch and length."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from .onnx_helpers import metadata_of, onnx_session, speech_clips

pytest.importorskip("onnxruntime")
TOLERANCE = 1e-4  # max abs difference of log-probabilities


def test_speech_log_probabilities_match_pytorch_for_batches_of_any_size_and_length(speech_model, speech_onnx):
    from e2elab.speech.ctc_batches import pad_batch

    session = onnx_session(speech_onnx)
    clips = speech_clips(6, seed=1)
    for chosen in ([0], [0, 4], [5, 1, 2, 3]):
        waves, lengths, _ = pad_batch([(clips[i], None) for i in chosen])
        with torch.no_grad():
            expected, frames = speech_model.model_(waves, lengths)
        log_probs, onnx_frames = session.run(None, {"waveform": waves.numpy(), "lengths": lengths.numpy()})
        assert onnx_frames.tolist() == frames.tolist()
        assert log_probs.shape == tuple(expected.shape)
        for row, n in enumerate(frames.tolist()):  # frames past a clip's end are padding in both
            assert np.abs(log_probs[row, :n] - expected[row, :n].numpy()).max() < TOLERANCE


def test_the_speech_front_end_is_in_the_graph(speech_onnx):
    import onnx

    graph = onnx.load(str(speech_onnx)).graph
    assert [i.name for i in graph.input] == ["waveform", "lengths"]  # raw samples in, no features computed outside
    waveform = graph.input[0].type.tensor_type.shape.dim
    assert all(d.dim_param and not d.dim_value for d in waveform)  # batch and length are both dynamic
    assert {"Conv", "GRU"} <= {node.op_type for node in graph.node}


def test_metadata_holds_what_decoding_needs(speech_model, speech_onnx):
    speech = metadata_of(speech_onnx)
    assert speech["task"] == "speech" and speech["alphabet"] == speech_model.vocabulary_.chars
    assert speech["sample_rate"] == speech_model.sample_rate
    assert speech["samples_per_frame"] == speech_model.model_.samples_per_frame
    assert sorted(speech["lexicon"]) == ["one", "three", "two"] and speech["lm"] == speech_model.lm_.to_json()


def test_the_onnx_model_answers_like_the_pipeline(speech_model, speech_onnx):
    from e2elab.export import load_onnx

    model = load_onnx(speech_onnx)
    # At the working rate and a whole number of frames, so that no padding tells the two apart.
    clips = [(clip, speech_model.sample_rate) for clip in speech_clips(3, seed=2)]
    for clip in clips:
        expected = np.log(speech_model.stage_outputs(clip)["posteriors"])
        assert np.abs(model.posteriors([clip])[0] - expected).max() < TOLERANCE
        assert model.predict([clip]) == speech_model.predict([clip])
    details = model.predict_details(clips[:1])[0]
    assert details["text"] == model.predict(clips[:1])[0]
    assert [w["word"] for w in details["words"]] == details["text"].split()


@pytest.mark.slow
def test_a_second_export_in_the_same_process_works(speech_model, speech_onnx, tmp_path):
    from e2elab.export import export_onnx

    again = export_onnx(speech_model, tmp_path / "again.onnx")
    assert metadata_of(again) == metadata_of(speech_onnx)
