"""Face detection frames per second at 640 x 480 on one CPU thread: HOG + SVM against the CNN.

Both detectors are trained briefly on synthetic face photos (the speed of a detector does not
depend on how well it was trained, only on its settings: the sliding window's pyramid, fixed by
`min_face` and `pyramid_step`, and the CNN's size and `input_size`), or loaded from saved models.
The defaults are those of the README figures, except the CNN's input size, which is the frame's
long side so that it looks at the 640 x 480 pixels as they are. Each detector's `predict` is timed
on the same synthetic 640 x 480 frames (a few faces of 16-60 px in noise) after a warm-up frame.
Prints one JSON line: frames/s of each, and the CNN's against the sliding window's, measured in
the same run.

    python benchmarks/bench_detection_fps.py [--frames 10] [--repeats 3]
    python benchmarks/bench_detection_fps.py --traditional-model runs/fm-trad/model --end-to-end-model runs/fm-e2e/model
"""

from __future__ import annotations

import os

# One thread everywhere, set before NumPy and PyTorch start their thread pools.
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HEIGHT, WIDTH = 480, 640


def frames(n: int, seed: int) -> list[np.ndarray]:
    """n gray 640 x 480 frames of noise, each with four faces and two eyeless discs, none overlapping."""
    from e2elab.detection.synthetic import draw_face

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        frame = rng.normal(110, 25, (HEIGHT, WIDTH)).clip(0, 255).astype(np.uint8)
        for number, column in enumerate(range(20, WIDTH - 100, 100)):
            side = int(rng.integers(16, 61))
            draw_face(frame, column, int(rng.integers(10, HEIGHT - side - 10)), side, eyes=number < 4)
        out.append(frame)
    return out


def trained(kind: str, path: str | None, input_size: int):
    """The detector saved at `path`, or one of `kind` trained briefly on synthetic photos."""
    import e2elab
    from e2elab.detection.synthetic import face_photos

    if path:
        model = e2elab.load(path)
        if (model.task, model.kind) != ("detection", kind):
            raise SystemExit(f"{path} holds a {model.task} {model.kind} model, not a detection {kind} one")
        return model
    photos, boxes = face_photos(32, seed=0, size=128, faces=2)
    if kind == "traditional":
        model = e2elab.make_pipeline("detection", kind, mining_rounds=1, progress=False)
    else:
        model = e2elab.make_pipeline("detection", kind, input_size=input_size, epochs=2, device="cpu", progress=False)
    return model.fit(photos, boxes)


def best_fps(model, test_frames: list[np.ndarray], repeats: int) -> tuple[float, float]:
    """(frames/s of the best repeat, mean boxes per frame)."""
    model.predict(test_frames[:1])  # warm-up: first-call allocations, lazy imports
    best, found = np.inf, []
    for _ in range(repeats):
        started = time.perf_counter()
        found = model.predict(test_frames)
        best = min(best, time.perf_counter() - started)
    return len(test_frames) / best, float(np.mean([len(p["boxes"]) for p in found]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10, help="frames timed per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--input-size", type=int, default=WIDTH, help="the CNN's input size (long side) when trained here")
    parser.add_argument("--traditional-model", metavar="DIR", help="a saved sliding-window detector to time instead")
    parser.add_argument("--end-to-end-model", metavar="DIR", help="a saved CNN detector to time instead")
    args = parser.parse_args()
    torch.set_num_threads(1)

    test_frames = frames(args.frames, seed=1)
    sliding = trained("traditional", args.traditional_model, args.input_size)
    cnn = trained("end-to-end", args.end_to_end_model, args.input_size)
    sliding_fps, sliding_boxes = best_fps(sliding, test_frames, args.repeats)
    cnn_fps, cnn_boxes = best_fps(cnn, test_frames, args.repeats)
    print(json.dumps({
        "benchmark": "detection_fps", "frame": f"{WIDTH}x{HEIGHT}", "threads": torch.get_num_threads(),
        "frames": len(test_frames), "traditional_fps": round(sliding_fps, 3), "end_to_end_fps": round(cnn_fps, 3),
        "traditional": {"min_face": sliding.min_face, "pyramid_step": sliding.pyramid_step, "window": sliding.window,
                        "boxes_per_frame": sliding_boxes, "model": args.traditional_model or "trained here"},
        "end_to_end": {"backbone": cnn.backbone, "width": cnn.width, "input_size": cnn.input_size,
                       "boxes_per_frame": cnn_boxes, "model": args.end_to_end_model or "trained here"},
        "ratio": round(cnn_fps / sliding_fps, 2), "reference": "traditional (HOG + SVM sliding window), same frames",
    }))


if __name__ == "__main__":
    main()
