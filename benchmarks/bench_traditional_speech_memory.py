"""Peak memory of the traditional speech recogniser's fit on a corpus 1x and 8x the size, with its
features bounded in memory (`feature_memory`, the rest in a temporary file) and held in memory.

The corpus is the generated one of bench_streaming_memory.py (noise and tones, 0.5-1.5 s at 8 kHz,
random digit-word transcripts): what the clips say does not matter to memory. Each fit trains one
Gaussian per state with one Baum-Welch pass, in a fresh Python process that reports its own peak
resident set size; the corpus's features are what grows with its size. Prints one JSON line; the
figure is the bounded 8x/1x peak ratio (goal: at most 1.2).

    python benchmarks/bench_traditional_speech_memory.py --clips 1000 --scale 8 --feature-memory 16
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_streaming_memory import write_corpus


def child(folder: Path, n: int, feature_memory: float | None) -> None:
    """Fit on the first `n` clips of `folder`; print peak RSS (MiB) and seconds as JSON."""
    import resource

    from e2elab.speech.traditional import TraditionalSpeechRecognizer

    paths = [str(folder / f"{i:06d}.wav") for i in range(n)]
    texts = json.loads((folder / "transcripts.json").read_text())[:n]
    model = TraditionalSpeechRecognizer(sample_rate=8000, n_mixtures=1, flat_passes=1, feature_memory=feature_memory,
                                        progress=False)
    started = time.perf_counter()
    model.fit(paths, texts)
    print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "seconds": time.perf_counter() - started}))


def measure(folder: Path, n: int, feature_memory: float | None) -> dict:
    command = [sys.executable, __file__, "--child", str(folder), "--clips", str(n)]
    command += ["--feature-memory", str(feature_memory)] if feature_memory is not None else ["--in-memory"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000, help="clips of the 1x corpus")
    parser.add_argument("--scale", type=int, default=8, help="the larger corpus is this many times the size")
    parser.add_argument("--feature-memory", type=float, default=16.0, help="MB of features held in memory")
    parser.add_argument("--in-memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.clips, None if args.in_memory else args.feature_memory)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small, large = args.clips, args.clips * args.scale
        write_corpus(folder, large)
        bounded = {size: measure(folder, size, args.feature_memory) for size in (small, large)}
        in_memory = {size: measure(folder, size, None) for size in (small, large)}
    ratio = bounded[large]["peak_mib"] / bounded[small]["peak_mib"]
    print(json.dumps({
        "benchmark": "traditional_speech_memory", "clips": [small, large], "feature_memory_mb": args.feature_memory,
        "bounded_peak_mib": [bounded[small]["peak_mib"], bounded[large]["peak_mib"]],
        "in_memory_peak_mib": [in_memory[small]["peak_mib"], in_memory[large]["peak_mib"]],
        "bounded_peak_ratio": ratio,
        "in_memory_peak_ratio": in_memory[large]["peak_mib"] / in_memory[small]["peak_mib"],
        "goal_ratio": 1.2, "within_goal": ratio <= 1.2,
        "fit_seconds": {"bounded": [bounded[small]["seconds"], bounded[large]["seconds"]],
                        "in_memory": [in_memory[small]["seconds"], in_memory[large]["seconds"]]}}))


if __name__ == "__main__":
    main()
