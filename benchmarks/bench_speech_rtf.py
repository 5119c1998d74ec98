"""Inference real-time factor of the end-to-end recogniser on one CPU thread (target <= 0.02).

Transcribes clips one at a time, as a service would (waveform in memory -> front-end -> encoder
-> CTC posteriors -> decoder -> text), and divides the processing time (wall clock, and the
process's CPU time) by the audio duration.
The reference, measured in the same run on the same clips, is the same network with the fixed
log-mel front-end (the ablation), so the ratio is the cost of the learned filterbank.

    python benchmarks/bench_speech_rtf.py --model RUN/model           # a trained model
    E2ELAB_DATA_DIR=... python benchmarks/bench_speech_rtf.py         # untrained network, FSDD clips

Without --model, untrained networks of the default size are timed (their flat posteriors are the
beam search's worst case); without the FSDD data, noise bursts of 0.3-1.5 s are used.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from e2elab.data.text import DIGIT_WORDS


def test_clips(n: int, rate: int) -> tuple[list, str]:
    root = os.environ.get("E2ELAB_DATA_DIR")
    folder = Path(root) / "fsdd" / "recordings" if root else None
    if folder is not None and folder.is_dir():
        from e2elab.data.audio import load_audio

        files = sorted(folder.glob("*.wav"))[:: max(1, len(list(folder.glob("*.wav"))) // n)][:n]
        return [(load_audio(f, rate), rate) for f in files], "fsdd"
    rng = np.random.default_rng(0)
    return [(rng.normal(scale=0.1, size=int(rng.uniform(0.3, 1.5) * rate)).astype(np.float32), rate) for _ in range(n)], "noise"


def untrained(frontend: str, decoder: str):
    """A default-size recogniser with random weights and a digit lexicon and language model."""
    from e2elab.speech.ctc import CharVocabulary
    from e2elab.speech.ctc_decode import WordNgramLM
    from e2elab.speech.ctc_decoding import CTCDecoding
    from e2elab.speech.end_to_end import EndToEndSpeechRecognizer

    torch.manual_seed(0)
    model = EndToEndSpeechRecognizer(frontend=frontend, decoder=decoder)
    model.vocabulary_ = CharVocabulary()
    model.model_ = model._build_model().eval()
    model.lexicon_ = list(DIGIT_WORDS)
    model.lm_ = WordNgramLM.fit(DIGIT_WORDS, order=CTCDecoding.of(model.decoder).lm_order)
    model._prepare_decoder()
    return model


def real_time_factor(model, clips) -> tuple[float, float]:
    """(wall-clock, CPU-time) seconds of processing per second of audio.

    On a shared machine the wall clock also counts time spent waiting for a core; the process's
    CPU time (one thread) is what a dedicated core would need.
    """
    model.predict([clips[0]])  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    for clip in clips:
        model.predict([clip])
    audio = sum(len(w) / rate for w, rate in clips)
    return (time.perf_counter() - wall) / audio, (time.process_time() - cpu) / audio


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a saved model folder (default: untrained default-size networks)")
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--decoder", default=None, help="override the decoder (greedy, beam, lexicon)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    if args.model:
        import e2elab

        model = e2elab.load(args.model)
        if args.decoder:
            model.set_params(decoder=args.decoder)
        reference = untrained("logmel", model.decoder)
        reference.set_params(sample_rate=model.sample_rate)
    else:
        model = untrained("sinc", args.decoder or "lexicon")
        reference = untrained("logmel", args.decoder or "lexicon")
    clips, source = test_clips(args.clips, model.sample_rate)
    decoder = model.decoder
    rtf, rtf_cpu = real_time_factor(model, clips)
    reference_rtf, reference_cpu = real_time_factor(reference, clips)
    network_rtf, network_cpu = real_time_factor(model.set_params(decoder="greedy"), clips)
    print(json.dumps({"benchmark": "speech_rtf", "threads": torch.get_num_threads(), "clips": len(clips), "source": source,
                      "model": args.model or "untrained", "frontend": model.frontend, "decoder": str(decoder),
                      "rtf": round(rtf, 5), "rtf_cpu": round(rtf_cpu, 5),
                      "rtf_greedy": round(network_rtf, 5), "rtf_greedy_cpu": round(network_cpu, 5),
                      "reference": "logmel front-end", "reference_rtf": round(reference_rtf, 5),
                      "reference_rtf_cpu": round(reference_cpu, 5), "ratio": round(rtf_cpu / reference_cpu, 3),
                      "target": 0.02, "meets_target": rtf <= 0.02, "meets_target_cpu": rtf_cpu <= 0.02}))


if __name__ == "__main__":
    main()
