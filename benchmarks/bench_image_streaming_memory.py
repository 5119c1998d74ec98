"""Peak memory of the end-to-end image classifier's fit on an image folder 1x and 8x the size,
streamed from disk and decoded into memory.

The images are generated: 32x32 colour PNGs of noise with a bar or a blob, in three classes (what
they show does not matter to memory). Every measurement runs `fit` for one epoch in a fresh Python
process, which reports its own peak resident set size. Streaming is forced on (and off) through
the module's threshold, so that both ways are measured on the same folders. Prints one JSON line;
the figure is the streamed 8x/1x peak ratio (goal: at most 1.2).

    python benchmarks/bench_image_streaming_memory.py --images 2000 --scale 8
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SIDE = 32
CLASSES = ("bars", "stripes", "blob")


def write_folder(folder: Path, n: int, seed: int = 0) -> None:
    """`n` PNGs and a labels.json in `folder`."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    labels = []
    for i in range(n):
        label = CLASSES[i % 3]
        image = rng.integers(0, 60, (SIDE, SIDE, 3)).astype(np.uint8)
        if label == "bars":
            image[::4] = (220, 60, 60)
        elif label == "stripes":
            image[:, ::4] = (60, 60, 220)
        else:
            image[8:24, 8:24] = (60, 220, 60)
        Image.fromarray(image).save(folder / f"{i:06d}.png")
        labels.append(label)
    (folder / "labels.json").write_text(json.dumps(labels))


def child(folder: Path, n: int, streamed: bool) -> None:
    """Fit on the first `n` images of `folder`; print peak RSS (MiB) and training items/s as JSON."""
    import resource

    import torch

    from e2elab.image import image_stream
    from e2elab.image.backbones import Backbone
    from e2elab.image.end_to_end import EndToEndImageClassifier

    torch.set_num_threads(1)
    image_stream.STREAM_ABOVE_BYTES = 0 if streamed else float("inf")
    paths = [str(folder / f"{i:06d}.png") for i in range(n)]
    labels = json.loads((folder / "labels.json").read_text())[:n]
    model = EndToEndImageClassifier(backbone=Backbone(width=8), input_size=16, epochs=1, batch_size=64, augment="none",
                                    device="cpu", amp=False, progress=False)
    model.fit(paths, labels)
    seconds = sum(row["seconds"] for row in model.history_)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mib": peak, "items_per_s": n * 0.9 / seconds}))


def measure(folder: Path, n: int, streamed: bool) -> dict:
    command = [sys.executable, __file__, "--child", str(folder), "--images", str(n)] + ([] if streamed else ["--in-memory"])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="images of the 1x folder")
    parser.add_argument("--scale", type=int, default=8, help="the larger folder is this many times the size")
    parser.add_argument("--in-memory", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.images, not args.in_memory)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_folder(folder, args.images * args.scale)
        small, large = args.images, args.images * args.scale
        streamed = {size: measure(folder, size, True) for size in (small, large)}
        in_memory = {size: measure(folder, size, False) for size in (small, large)}
    ratio = streamed[large]["peak_mib"] / streamed[small]["peak_mib"]
    print(json.dumps({
        "benchmark": "image_streaming_memory", "images": [small, large], "side": SIDE,
        "streamed_peak_mib": [streamed[small]["peak_mib"], streamed[large]["peak_mib"]],
        "in_memory_peak_mib": [in_memory[small]["peak_mib"], in_memory[large]["peak_mib"]],
        "streamed_peak_ratio": ratio, "in_memory_peak_ratio": in_memory[large]["peak_mib"] / in_memory[small]["peak_mib"],
        "goal_ratio": 1.2, "within_goal": ratio <= 1.2,
        "items_per_s": {"streamed": streamed[small]["items_per_s"], "in_memory": in_memory[small]["items_per_s"]}}))


if __name__ == "__main__":
    main()
