"""Synthetic pretraining corpus generation rate with 2 joblib workers against 1, same run.

Generates the same corpus settings (`e2elab.synth.corpus`: espeak-ng, then equaliser, room and
noise) into two temporary caches, once with one worker and once with two, and prints one JSON
line: seconds of audio generated per wall-clock second for each, and the ratio (2 workers / 1).
Worker start-up is part of both timings, as it is of a real `e2elab pretrain` run; the default
size (0.1 h, 150 clips in 6 shards) keeps it small beside the steady-state work.

    python benchmarks/bench_synth_corpus.py --hours 0.1

The ratio is only meaningful where two cores are free; the load average is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def generation_rate(hours: float, n_jobs: int) -> dict:
    """Generate a fresh corpus of `hours` with `n_jobs` workers: audio seconds per second, and the counts."""
    from e2elab.synth.corpus import CorpusSettings, corpus_folder, generate

    with tempfile.TemporaryDirectory() as cache:
        os.environ["E2ELAB_CACHE_DIR"] = cache
        settings = CorpusSettings(hours=hours)
        started = time.perf_counter()
        made = generate(corpus_folder(settings), settings, n_jobs=n_jobs, progress=False)
        seconds = time.perf_counter() - started
    return {"workers": made["workers"], "clips": made["clips"], "audio_seconds": round(made["hours"] * 3600, 1),
            "wall_seconds": round(seconds, 2), "audio_seconds_per_second": round(made["hours"] * 3600 / seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=0.1, help="hours of speech each run generates")
    args = parser.parse_args()
    one = generation_rate(args.hours, 1)
    two = generation_rate(args.hours, 2)
    print(json.dumps({
        "benchmark": "synth_corpus_generation",
        "hours": args.hours,
        "one_worker": one,
        "two_workers": two,
        "ratio_two_over_one": round(two["audio_seconds_per_second"] / one["audio_seconds_per_second"], 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
