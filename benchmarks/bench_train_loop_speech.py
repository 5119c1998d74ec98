"""Training throughput of the shared loop (e2elab.nn.train) against a plain hand-written loop, speech.

Both train the end-to-end speech network (learned filterbank, conv subsampling, BiGRU, CTC) on
the same in-memory clips (noise bursts of 0.3-1.5 s with random digit transcripts, so no data
set is needed: throughput does not depend on what the clips say), in the same length-bucketed
batches, with the same per-batch work (pad, forward, CTC loss, backward, AdamW step). The shared
loop also runs its one-cycle schedule, gradient clipping and bookkeeping. The two alternate
`--repeats` times and the best of each is kept, to damp the noise of a shared machine. Prints
one JSON line with both throughputs (seconds of audio per second) and their ratio.

    python benchmarks/bench_train_loop_speech.py --clips 128 --epochs 1 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from e2elab.nn import TrainConfig, make_optimizer, seed_everything, train
from e2elab.nn.batching import length_bucketed_batches
from e2elab.speech.ctc import CharVocabulary
from e2elab.speech.ctc_batches import ClipDataset as _Clips, ctc_step as _ctc_step, pad_batch as _pad_batch
from e2elab.speech.model import SpeechCTCModel

RATE = 8000
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def clips(n: int, seed: int = 0) -> _Clips:
    rng = np.random.default_rng(seed)
    vocabulary = CharVocabulary()
    waves = [rng.normal(scale=0.1, size=int(rng.uniform(0.3, 1.5) * RATE)).astype(np.float32) for _ in range(n)]
    texts = [" ".join(rng.choice(WORDS, size=max(1, int(len(w) / RATE * 2)))) for w in waves]
    return _Clips(waves, [vocabulary.encode(t) for t in texts])


def network(args) -> SpeechCTCModel:
    seed_everything(0)
    return SpeechCTCModel(len(CharVocabulary()), RATE, "sinc", 40, args.width, args.depth)


def shared_loop(data, sampler, args) -> float:
    module = network(args)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device="cpu", progress=False)
    started = time.perf_counter()
    train(module, data, _ctc_step, config, collate_fn=_pad_batch, batch_sampler=sampler)
    return args.epochs * sum(len(w) for w in data.waves) / RATE / (time.perf_counter() - started)


def plain_loop(data, sampler, args) -> float:
    module = network(args)
    device = torch.device("cpu")
    module.train()
    optimizer = make_optimizer(module, 3e-3, 5e-4)
    started = time.perf_counter()
    for epoch in range(args.epochs):
        for indices in sampler(epoch):
            batch = _pad_batch([data[i] for i in indices])
            loss = _ctc_step(module, batch, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return args.epochs * sum(len(w) for w in data.waves) / RATE / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=128)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batch-seconds", type=float, default=24.0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = clips(args.clips)
    sampler = length_bucketed_batches([len(w) for w in data.waves], int(args.batch_seconds * RATE), args.batch_size)
    plain, shared = [], []
    for _ in range(args.repeats):
        plain.append(plain_loop(data, sampler, args))
        shared.append(shared_loop(data, sampler, args))
    print(json.dumps({"benchmark": "train_loop_speech", "device": "cpu", "threads": torch.get_num_threads(),
                      "clips": args.clips, "audio_seconds": round(sum(len(w) for w in data.waves) / RATE, 1),
                      "width": args.width, "depth": args.depth,
                      "audio_s_per_s": round(max(shared), 2), "reference_audio_s_per_s": round(max(plain), 2),
                      "ratio": round(max(shared) / max(plain), 3),
                      "runs": {"plain": [round(v, 2) for v in plain], "shared": [round(v, 2) for v in shared]}}))


if __name__ == "__main__":
    main()
