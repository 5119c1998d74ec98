"""Integrated gradients (50 steps) on a batch of 32 images: batched vs one image at a time.

Prints one JSON line: for each way of running it, the wall time and the peak resident memory
above what the process held before the attribution started (each way runs in its own fresh
process, so one peak cannot hide another), and the speed ratio of one-at-a-time to batched.

Ways:
  batched     all 32 images in one call, at most --batch-size (64) path points per evaluation
  unbounded   all 32 x 50 = 1600 path points in one evaluation (what batching avoids)
  one_by_one  32 calls of one image, 50 path points each

The network is the end-to-end image pipeline's residual CNN, at its initialisation (timing and
memory do not depend on the weights). Usage:
  python benchmarks/bench_integrated_gradients.py [--size 64] [--channels 3] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

N_IMAGES = 32
N_STEPS = 50


def rss_mb() -> float:
    """Current resident memory of this process in MiB."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(way: str, size: int, channels: int, batch_size: int, threads: int) -> dict:
    """Run one way in this process and return its time and peak memory."""
    import torch

    from e2elab.explain.attribution import attribute
    from e2elab.image.model import ResidualCNN

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = ResidualCNN(channels, 5, width=32, depth=3).eval()
    x = torch.randn(N_IMAGES, channels, size, size)
    # Warm up kernels on a tiny call so the first way is not charged for it.
    attribute(model, x[:1], "integrated_gradients", n_steps=2, internal_batch_size=2)
    baseline = rss_mb()
    start = time.perf_counter()
    if way == "batched":
        maps = attribute(model, x, "integrated_gradients", target=0, n_steps=N_STEPS, internal_batch_size=batch_size)
    elif way == "unbounded":
        maps = attribute(model, x, "integrated_gradients", target=0, n_steps=N_STEPS,
                         internal_batch_size=N_IMAGES * N_STEPS)
    else:
        maps = torch.cat([attribute(model, x[i:i + 1], "integrated_gradients", target=0, n_steps=N_STEPS,
                                    internal_batch_size=N_STEPS) for i in range(N_IMAGES)])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    assert maps.shape == x.shape
    return {"seconds": round(seconds, 3), "peak_extra_mib": round(max(0.0, peak - baseline), 1),
            "baseline_mib": round(baseline, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64, help="image side (default 64)")
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="internal batch size of the batched way")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, for repeatable timings)")
    parser.add_argument("--way", help=argparse.SUPPRESS)  # internal: run one way and print its JSON
    args = parser.parse_args()
    if args.way:
        print(json.dumps(measure(args.way, args.size, args.channels, args.batch_size, args.threads)))
        return
    results = {}
    for way in ("batched", "unbounded", "one_by_one"):
        command = [sys.executable, __file__, "--way", way, "--size", str(args.size), "--channels", str(args.channels),
                   "--batch-size", str(args.batch_size), "--threads", str(args.threads)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[way] = json.loads(output.strip().splitlines()[-1])
    print(json.dumps({
        "benchmark": "integrated_gradients", "images": N_IMAGES, "steps": N_STEPS,
        "image": [args.channels, args.size, args.size], "internal_batch_size": args.batch_size, "threads": args.threads,
        **results,
        "speedup_batched_vs_one_by_one": round(results["one_by_one"]["seconds"] / results["batched"]["seconds"], 2),
        "memory_unbounded_vs_batched": round(results["unbounded"]["peak_extra_mib"]
                                             / max(results["batched"]["peak_extra_mib"], 0.1), 2),
    }))


if __name__ == "__main__":
    main()
