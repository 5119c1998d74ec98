"""Inference throughput of the end-to-end image classifier on one CPU thread.

Fits the classifier for one epoch on random images (the speed does not depend on the weights),
then times `predict_proba` on raw uint8 images (decoding from arrays, resizing, normalising and
the network) against the bare network on already-prepared tensors, measured in the same run.
Prints one JSON line: images/s of both and their ratio (how much the preparation costs).

    python benchmarks/bench_image_inference.py --size 64 --colour
    python benchmarks/bench_image_inference.py --size 16
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from timing import best_rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="input size of the model")
    parser.add_argument("--source-size", type=int, default=None, help="side of the raw images (default: 2 x size)")
    parser.add_argument("--colour", action="store_true")
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from e2elab.image.backbones import Backbone
    from e2elab.image.end_to_end import EndToEndImageClassifier

    rng = np.random.default_rng(0)
    side = args.source_size or 2 * args.size
    shape = (args.n, side, side, 3) if args.colour else (args.n, side, side)
    images = list(rng.integers(0, 256, shape, dtype=np.uint8))
    labels = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, args.n)]
    model = EndToEndImageClassifier(backbone=Backbone(width=args.width), input_size=args.size, epochs=1, device="cpu",
                                    progress=False)
    model.fit(images[:128], labels[:128])
    prepared = model.preprocess(images).contiguous(memory_format=torch.channels_last)

    def bare():
        with torch.no_grad():
            for start in range(0, args.n, 256):
                model.network_(prepared[start:start + 256])

    pipeline = best_rate(lambda: model.predict_proba(images), args.n, args.repeats)
    network = best_rate(bare, args.n, args.repeats)
    print(json.dumps({"benchmark": "image_inference", "threads": torch.get_num_threads(), "input_size": args.size,
                      "source_size": side, "channels": 3 if args.colour else 1, "width": args.width,
                      "depth": model.depth_, "images_per_s": round(pipeline, 1),
                      "reference_images_per_s": round(network, 1), "reference": "bare network on prepared tensors",
                      "ratio": round(pipeline / network, 3)}))


if __name__ == "__main__":
    main()
