"""Peak memory of the end-to-end speech recogniser's fit on a corpus 1x and 8x the size, streamed
from disk and decoded into memory; and training throughput with 0 and 2 loader workers.

The corpus is generated: noise bursts with a few tones, 0.5-1.5 s at 8 kHz, written as 16-bit WAV
files with random digit-word transcripts (what the clips say does not matter to memory or speed,
and synthesising speech with espeak-ng would take far longer than the measurement). Every
measurement runs `fit` in a fresh Python process, which reports its own peak resident set size
(and its loader workers'). `fit` trains whole epochs; the child caps every epoch at `--steps`
batches so that the two corpus sizes cost the same compute and differ only in size. Streaming is
forced on at 0 workers (below its automatic threshold, a small corpus would be decoded once).
Prints one JSON line; the figure is the streamed 8x/1x peak ratio (goal: at most 1.2).

    python benchmarks/bench_streaming_memory.py --clips 2000 --scale 8 --steps 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RATE = 8000
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def write_corpus(folder: Path, n: int, seed: int = 0) -> None:
    """`n` clips and a transcripts.json in `folder`."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    texts = []
    for i in range(n):
        length = int(rng.uniform(0.5, 1.5) * RATE)
        t = np.arange(length) / RATE
        wave = 0.05 * rng.normal(size=length) + 0.2 * np.sin(2 * np.pi * rng.uniform(200, 3000) * t)
        sf.write(folder / f"{i:06d}.wav", (wave / np.abs(wave).max() * 0.5).astype(np.float32), RATE, subtype="PCM_16")
        texts.append(" ".join(rng.choice(WORDS, size=1 + int(length > RATE))))
    (folder / "transcripts.json").write_text(json.dumps(texts))


def child(folder: Path, n: int, workers: int, streamed: bool, steps: int) -> None:
    """Fit on the first `n` clips of `folder`; print peak RSS (MiB) and training items/s as JSON."""
    import resource

    import torch

    from e2elab.speech import clip_stream
    from e2elab.speech.end_to_end import EndToEndSpeechRecognizer

    torch.set_num_threads(1)
    clip_stream.STREAM_ABOVE_BYTES = 0 if streamed else float("inf")
    all_batches = clip_stream.length_bucketed_batches

    def first_batches(*args, **options):
        make = all_batches(*args, **options)
        return lambda epoch: make(epoch)[:steps]

    clip_stream.length_bucketed_batches = first_batches
    paths = [str(folder / f"{i:06d}.wav") for i in range(n)]
    texts = json.loads((folder / "transcripts.json").read_text())[:n]
    model = EndToEndSpeechRecognizer(n_filters=8, width=16, depth=1, epochs=1, batch_size=16, augment=False,
                                     decoder="greedy", device="cpu", progress=False, num_workers=workers)
    model.fit(paths, texts)
    seconds = sum(row["seconds"] for row in model.history_)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"peak_mib": peak, "worker_peak_mib": workers_peak, "items_per_s": steps * 16 / seconds}))


def measure(folder: Path, n: int, workers: int, streamed: bool, steps: int) -> dict:
    command = [sys.executable, __file__, "--child", str(folder), "--clips", str(n), "--workers", str(workers),
               "--steps", str(steps)] + ([] if streamed else ["--in-memory"])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=2000, help="clips of the 1x corpus")
    parser.add_argument("--scale", type=int, default=8, help="the larger corpus is this many times the size")
    parser.add_argument("--steps", type=int, default=20, help="training batches per run")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--in-memory", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.clips, args.workers, not args.in_memory, args.steps)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_corpus(folder, args.clips * args.scale)
        small, large = args.clips, args.clips * args.scale
        streamed = {size: measure(folder, size, 0, True, args.steps) for size in (small, large)}
        in_memory = {size: measure(folder, size, 0, False, args.steps) for size in (small, large)}
        two_workers = measure(folder, small, 2, True, args.steps)
    ratio = streamed[large]["peak_mib"] / streamed[small]["peak_mib"]
    print(json.dumps({
        "benchmark": "streaming_memory", "clips": [small, large], "steps": args.steps,
        "streamed_peak_mib": [streamed[small]["peak_mib"], streamed[large]["peak_mib"]],
        "in_memory_peak_mib": [in_memory[small]["peak_mib"], in_memory[large]["peak_mib"]],
        "streamed_peak_ratio": ratio, "in_memory_peak_ratio": in_memory[large]["peak_mib"] / in_memory[small]["peak_mib"],
        "goal_ratio": 1.2, "within_goal": ratio <= 1.2,
        "items_per_s": {"workers_0": streamed[small]["items_per_s"], "workers_2": two_workers["items_per_s"]},
        "worker_peak_mib_2_workers": two_workers["worker_peak_mib"]}))


if __name__ == "__main__":
    main()
