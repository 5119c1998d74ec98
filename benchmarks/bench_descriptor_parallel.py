"""Descriptor extraction speed with 2 joblib workers against 1, same images, same run.

Describes the same images (read from disk, dense SIFT + HSV histograms, the traditional image
pipeline's default for photographs) once with one worker and once with two loky processes, the
cache turned off, and prints one JSON line: images per second of each, the ratio, and whether
both runs gave identical descriptors. The worker pool is started before timing, so the figure is
the steady-state speed-up, not process start-up.

    E2ELAB_DATA_DIR=... python benchmarks/bench_descriptor_parallel.py --data flowers5 --images 400

The ratio is only meaningful where two cores are free: on a busy machine (see the load average
it reports) the two workers share whatever CPU time the scheduler gives this program.

Without the data set (or with --synthetic) it writes random-texture 128x128 JPEGs to a temporary
folder and describes those.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def synthetic_images(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """`count` smooth random-texture colour JPEGs of 128x128 pixels."""
    import cv2

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        blocks = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)
        image = cv2.GaussianBlur(cv2.resize(blocks, (128, 128), interpolation=cv2.INTER_NEAREST), (5, 5), 0)
        paths.append(folder / f"{i:05d}.jpg")
        cv2.imwrite(str(paths[-1]), image)
    return paths


def data_images(name: str, count: int) -> list[Path] | None:
    root = os.environ.get("E2ELAB_DATA_DIR")
    if not root or not (Path(root) / name).exists():
        return None
    paths = sorted(p for p in (Path(root) / name).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not paths:
        return None
    step = max(1, len(paths) // count)
    return paths[::step][:count]


def tree_cpu_seconds() -> float | None:
    """CPU seconds used so far by this process and its worker processes (Linux /proc), or None."""
    total = time.process_time()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():  # fields[1] is the parent pid
                total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    except OSError:
        return None
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="flowers5", help="built-in image data set under $E2ELAB_DATA_DIR")
    parser.add_argument("--synthetic", action="store_true", help="describe generated images instead")
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--descriptor", default="sift+hsv-global")
    parser.add_argument("--jobs", type=int, default=2, help="workers of the parallel run (against 1)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each; the fastest counts")
    args = parser.parse_args()

    from e2elab.image.descriptors import ExtractionParams, parse_descriptors
    from e2elab.image.extraction import describe_all

    params = ExtractionParams(descriptors=parse_descriptors(args.descriptor), global_size=128)
    with tempfile.TemporaryDirectory(prefix="bench-descriptors-") as tmp:
        paths = None if args.synthetic else data_images(args.data, args.images)
        source = args.data
        if paths is None:
            paths, source = synthetic_images(Path(tmp), args.images), "synthetic"
        # Start the worker pool and let every worker import OpenCV and scikit-image before timing.
        describe_all(paths[: args.jobs * 4], params, n_jobs=args.jobs, cache=None)
        rates, results, cpu = {}, {}, {}
        for jobs in (1, args.jobs):
            best = float("inf")
            cpu_start = tree_cpu_seconds()
            for _ in range(args.repeats):
                start = time.perf_counter()
                results[jobs], _ = describe_all(paths, params, n_jobs=jobs, cache=None)
                best = min(best, time.perf_counter() - start)
            cpu_end = tree_cpu_seconds()
            rates[jobs] = len(paths) / best
            cpu[jobs] = None if cpu_start is None or cpu_end is None else (cpu_end - cpu_start) / args.repeats
    same = all(np.array_equal(a["local"][name], b["local"][name])
               for a, b in zip(results[1], results[args.jobs]) for name in a["local"])
    print(json.dumps({
        "benchmark": "descriptor_parallel", "data": source, "images": len(paths), "descriptor": args.descriptor,
        "images_per_s_1_worker": round(rates[1], 2), f"images_per_s_{args.jobs}_workers": round(rates[args.jobs], 2),
        "ratio": round(rates[args.jobs] / rates[1], 3), "identical": bool(same), "cpus": os.cpu_count(),
        # On a shared machine the speed-up is capped by the CPU other programs leave free; the CPU
        # seconds per run (this process and its workers) show how much work parallelism adds.
        "cpu_s_1_worker": None if cpu[1] is None else round(cpu[1], 2),
        f"cpu_s_{args.jobs}_workers": None if cpu[args.jobs] is None else round(cpu[args.jobs], 2),
        "load_average_1min": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
