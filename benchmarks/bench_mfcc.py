"""MFCC + deltas + delta-deltas throughput: e2elab's front end against librosa called per file.

Both compute 13 MFCC (25 ms Hann window, 10 ms hop, 26 mel filters, lifter 22) plus first and
second order deltas from the same decoded clips; decoding is not timed. Prints one JSON line:
seconds of audio per second of compute for each, the ratio, and how closely the MFCC agree.

    E2ELAB_DATA_DIR=... python benchmarks/bench_mfcc.py [--clips 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _clips(n: int, rate: int) -> tuple[list[np.ndarray], str]:
    try:
        import e2elab
        from e2elab.data.audio import as_waveform

        dataset = e2elab.load_dataset("fsdd")
        return [as_waveform(path, sample_rate=rate) for path in list(dataset.X)[:n]], "fsdd"
    except Exception:  # no data set here: noise bursts of FSDD-like lengths
        rng = np.random.default_rng(0)
        return [(0.1 * rng.standard_normal(int(rate * rng.uniform(0.3, 0.8)))).astype(np.float32) for _ in range(n)], "synthetic"


def _preemphasis(y: np.ndarray) -> np.ndarray:
    """The pre-emphasis e2elab applies (first sample kept), for the librosa side."""
    return np.concatenate([y[:1], y[1:] - 0.97 * y[:-1]])


def _best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate", type=int, default=8000)
    args = parser.parse_args()

    import librosa

    from e2elab.speech.features import MfccConfig, add_deltas, mfcc, mfcc_batch

    clips, source = _clips(args.clips, args.rate)
    config = MfccConfig(sample_rate=args.rate)
    settings = dict(sr=args.rate, n_mfcc=13, n_fft=config.fft_size, hop_length=config.hop_length,
                    win_length=config.win_length, n_mels=config.n_mels, lifter=22)

    def with_librosa():
        out = []
        for y in clips:
            emphasised = _preemphasis(y)
            m = librosa.feature.mfcc(y=emphasised, **settings)
            out.append(np.vstack([m, librosa.feature.delta(m, width=5, mode="nearest"),
                                  librosa.feature.delta(m, width=5, order=2, mode="nearest")]))
        return out

    def ours():
        return [add_deltas(c) for c in mfcc_batch(clips, config)]

    librosa_s = _best(with_librosa, args.repeats)
    ours_s = _best(ours, args.repeats)
    audio_s = sum(len(c) for c in clips) / args.rate

    # Agreement on the cepstra themselves (librosa's dB floor is disabled to match ours).
    y = clips[0]
    power = librosa.feature.melspectrogram(y=_preemphasis(y), sr=args.rate, n_fft=config.fft_size,
                                           hop_length=config.hop_length, win_length=config.win_length, n_mels=config.n_mels)
    reference = librosa.feature.mfcc(S=librosa.power_to_db(power, top_db=None), n_mfcc=13, lifter=22).T
    max_diff = float(np.abs(mfcc(y, config) - reference).max() / np.abs(reference).max())

    print(json.dumps({
        "benchmark": "mfcc_deltas", "data": source, "clips": len(clips), "audio_seconds": round(audio_s, 1),
        "librosa_seconds": round(librosa_s, 4), "e2elab_seconds": round(ours_s, 4),
        "librosa_realtime_factor": round(audio_s / librosa_s, 1), "e2elab_realtime_factor": round(audio_s / ours_s, 1),
        "speedup_vs_librosa": round(librosa_s / ours_s, 2),
        "max_relative_mfcc_difference": max_diff,
    }))


if __name__ == "__main__":
    main()
