"""Inference speed of the exported end-to-end pipelines: onnxruntime against PyTorch, one thread each.

Fits each end-to-end pipeline briefly on random data (the speed does not depend on the weights),
exports it, then times the network on the same prepared batches through PyTorch as the pipeline runs it
(torch.set_num_threads(1)) and through onnxruntime (intra_op_num_threads=1) in the same run:
images (B, C, S, S) uint8 for the image classifier, whole-frame waveforms with their lengths for
the speech recogniser (its learned front-end included). Prints one JSON line per pipeline:
items/s of both and the ratio onnxruntime / PyTorch.

    python benchmarks/bench_onnx_inference.py
    python benchmarks/bench_onnx_inference.py --image-size 64 --seconds 2.0
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from timing import best_rate


def image_batches(args, rng):
    from e2elab.export.graphs import ImageGraph
    from e2elab.image.end_to_end import EndToEndImageClassifier

    images = list(rng.integers(0, 256, (128, args.image_size, args.image_size), dtype=np.uint8))
    labels = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, len(images))]
    model = EndToEndImageClassifier(input_size=args.image_size, epochs=1, device="cpu", progress=False).fit(images, labels)
    pixels = torch.from_numpy(rng.integers(0, 256, (args.n, 1, args.image_size, args.image_size), dtype=np.uint8))
    batches = [(pixels[start:start + args.batch],) for start in range(0, args.n, args.batch)]
    return model, ImageGraph(model).eval(), batches, ("pixels",)  # PyTorch: predict_proba's arithmetic


def speech_batches(args, rng):
    from e2elab.export.graphs import SpeechGraph
    from e2elab.speech.end_to_end import MIN_SECONDS, EndToEndSpeechRecognizer

    rate = 8000
    clips = [(0.1 * rng.standard_normal(rate)).astype(np.float32) for _ in range(16)]
    model = EndToEndSpeechRecognizer(sample_rate=rate, epochs=1, augment=False, device="cpu", progress=False)
    model.fit(clips, ["one", "two", "three", "four"] * 4)
    step = SpeechGraph(model.model_, int(MIN_SECONDS * rate)).samples_per_frame
    samples = int(args.seconds * rate) // step * step
    waves = torch.from_numpy((0.1 * rng.standard_normal((args.n, samples))).astype(np.float32))
    lengths = torch.full((args.n,), samples, dtype=torch.long)
    batches = [(waves[start:start + args.batch], lengths[start:start + args.batch]) for start in range(0, args.n, args.batch)]
    return model, model.model_.eval(), batches, ("waveform", "lengths")  # PyTorch: the pipeline's own packed GRU


def measure(name, model, network, batches, input_names, args, folder: Path) -> dict:
    import onnxruntime as ort

    from e2elab.export import export_onnx

    path = export_onnx(model, folder / f"{name}.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feeds = [{key: tensor.numpy() for key, tensor in zip(input_names, batch)} for batch in batches]

    def with_torch():
        with torch.no_grad():
            for batch in batches:
                network(*batch)

    def with_onnxruntime():
        for feed in feeds:
            session.run(None, feed)

    with_torch(), with_onnxruntime()  # warm-up: allocations, onnxruntime's first-run graph work
    torch_rate = best_rate(with_torch, args.n, args.repeats)
    onnx_rate = best_rate(with_onnxruntime, args.n, args.repeats)
    return {"benchmark": "onnx_inference", "pipeline": name, "threads": 1, "items": args.n, "batch": args.batch,
            "torch_items_per_s": round(torch_rate, 1), "onnxruntime_items_per_s": round(onnx_rate, 1),
            "ratio": round(onnx_rate / torch_rate, 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="items timed per pipeline")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=16, help="image side (16: USPS)")
    parser.add_argument("--seconds", type=float, default=1.0, help="clip length (FSDD digits are under a second)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)  # "too little data to learn well": the weights do not matter here
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        for name, prepare in (("image", image_batches), ("speech", speech_batches)):
            model, network, batches, input_names = prepare(args, rng)
            print(json.dumps(measure(name, model, network, batches, input_names, args, Path(folder))), flush=True)


if __name__ == "__main__":
    main()
