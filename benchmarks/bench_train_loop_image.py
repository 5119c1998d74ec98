"""Training throughput of the shared loop (e2elab.nn.train) against a plain hand-written loop.

Both train the same residual CNN on the same in-memory batches (random colour images, the same
sampler seed) with the same per-batch work (normalise, forward, cross-entropy, backward, optimizer
step: AdamW, or SGD with `--optimizer sgd`). The shared loop also runs its one-cycle schedule,
gradient clipping (its default) and bookkeeping. The two are run alternately `--repeats` times
and the best of each is kept, which damps the noise of a shared machine. Prints one JSON line
with both throughputs and their ratio.
`--stem-pool` also times the shared loop on the same network with `stem_pool=True` (the resolution
halved after the first convolution): `stem_pool_speedup`.
`--bf16` runs both under bfloat16 autocast on the CPU (what the image classifier does on CPUs
with native bfloat16 instructions) and also prints the float32 plain loop, for the speed-up.

    python benchmarks/bench_train_loop_image.py --size 64 --n 1024 --epochs 2
    python benchmarks/bench_train_loop_image.py --size 64 --n 1024 --epochs 2 --bf16
    python benchmarks/bench_train_loop_image.py --size 64 --n 1024 --epochs 2 --bf16 --optimizer sgd
    python benchmarks/bench_train_loop_image.py --size 64 --n 1024 --epochs 2 --stem-pool
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from e2elab.nn.tensor_batches import TensorBatches, whole_batch
from e2elab.image.model import ResidualCNN
from e2elab.image.transforms import normalise
from e2elab.nn import DEFAULT_LR, OPTIMIZERS, TrainConfig, make_optimizer, seed_everything, train
from e2elab.nn.device import cpu_has_native_bf16
from timing import plain_training_rate

MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]


def step(module, batch, device):
    x, y = batch[0].to(device), batch[1].to(device)
    x = normalise(x, MEAN, STD).contiguous(memory_format=torch.channels_last)
    return F.cross_entropy(module(x).float(), y)


def network(args, stem_pool=False):
    seed_everything(0)
    return ResidualCNN(3, 5, width=args.width, depth=args.depth, stem_pool=stem_pool).to(memory_format=torch.channels_last)


def shared_loop(data, args, grad_clip, stem_pool=False) -> float:
    module = network(args, stem_pool)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device=args.device, progress=False,
                         grad_clip=grad_clip, cpu_amp=args.bf16, optimizer=args.optimizer)
    started = time.perf_counter()
    train(module, data, step, config, collate_fn=whole_batch)
    return args.epochs * (len(data) // args.batch_size) * args.batch_size / (time.perf_counter() - started)


def plain_loop(data, args, bf16: bool) -> float:
    module = network(args)
    optimizer = make_optimizer(module, DEFAULT_LR[args.optimizer], 5e-4, args.optimizer)
    return plain_training_rate(module, data, step, optimizer, batch_size=args.batch_size, epochs=args.epochs,
                               device=args.device, bf16=bf16, collate_fn=whole_batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw")
    parser.add_argument("--stem-pool", action="store_true", help="also time the network with stem_pool=True")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast on the CPU, both loops")
    args = parser.parse_args()
    if args.bf16 and not (args.device == "cpu" and cpu_has_native_bf16()):
        parser.error("--bf16 needs device cpu and a CPU with native bfloat16 instructions")
    g = torch.Generator().manual_seed(0)
    data = TensorBatches(torch.randint(0, 256, (args.n, 3, args.size, args.size), dtype=torch.uint8, generator=g),
                         torch.randint(0, 5, (args.n,), generator=g))
    plain, shared, shared_no_clip, plain_fp32, pooled = [], [], [], [], []
    for _ in range(args.repeats):
        plain.append(plain_loop(data, args, args.bf16))
        if args.bf16:
            plain_fp32.append(plain_loop(data, args, False))
        shared.append(shared_loop(data, args, grad_clip=1.0))
        shared_no_clip.append(shared_loop(data, args, grad_clip=None))
        if args.stem_pool:
            pooled.append(shared_loop(data, args, grad_clip=1.0, stem_pool=True))
    extra = {}
    if args.stem_pool:
        extra = {"stem_pool_images_per_s": round(max(pooled), 1), "stem_pool_speedup": round(max(pooled) / max(shared), 3)}
    if args.bf16:
        extra |= {"float32_reference_images_per_s": round(max(plain_fp32), 1),
                 "bf16_speedup": round(max(shared) / max(plain_fp32), 3)}
    print(json.dumps({"benchmark": "train_loop_image", "device": args.device, "threads": torch.get_num_threads(),
                      "bf16": args.bf16, "optimizer": args.optimizer,
                      "image_size": args.size, "batch_size": args.batch_size, "images": args.n,
                      "images_per_s": round(max(shared), 1), "reference_images_per_s": round(max(plain), 1),
                      "ratio": round(max(shared) / max(plain), 3),
                      "images_per_s_without_clipping": round(max(shared_no_clip), 1),
                      "ratio_without_clipping": round(max(shared_no_clip) / max(plain), 3), **extra,
                      "runs": {"plain": plain, "shared": shared, "shared_without_clipping": shared_no_clip,
                               "stem_pool": pooled}}))


if __name__ == "__main__":
    main()
