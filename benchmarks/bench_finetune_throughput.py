"""Fine-tuning throughput of a pretrained backbone: e2elab's loop against a plain one.

Both fine-tune the same network (`--backbone`, ImageNet MobileNetV2 by default or EfficientNet-Lite0,
from its installed weights package or `--weights PATH`, with a new 5-class head) on the same
in-memory batches (random colour images at `--size` px, the same sampler seed) with the same
per-batch work (the backbone's normalisation, forward,
cross-entropy, backward, AdamW step), under bfloat16 autocast where the CPU has native bfloat16
instructions (as the image classifier trains) and in float32 elsewhere. e2elab's loop
(:func:`e2elab.nn.train`) also runs its one-cycle schedule, gradient clipping and bookkeeping.
One run each; prints one JSON line with both throughputs and their ratio.

    python benchmarks/bench_finetune_throughput.py --size 128 --n 512 --epochs 1 [--backbone efficientnet_lite0]
"""

from __future__ import annotations

import argparse
import functools
import json
import time

import torch
import torch.nn.functional as F

from torch import nn

from e2elab.image.backbones import BACKBONES, Backbone, load_pretrained
from e2elab.image.transforms import normalise
from e2elab.nn import TrainConfig, make_optimizer, seed_everything, train
from e2elab.nn.device import cpu_has_native_bf16
from e2elab.nn.tensor_batches import TensorBatches, whole_batch
from timing import plain_training_rate

LR, WEIGHT_DECAY = 1e-3, 5e-4


def step(module, batch, device, *, mean, std):
    x, y = batch[0].to(device), batch[1].to(device)
    x = normalise(x, mean, std).contiguous(memory_format=torch.channels_last)
    return F.cross_entropy(module(x).float(), y)


def backbone_step(backbone: str):
    """The training step with `backbone`'s normalisation."""
    return functools.partial(step, mean=BACKBONES[backbone].mean, std=BACKBONES[backbone].std)


def network(backbone: str, weights) -> nn.Module:
    seed_everything(0)
    module = BACKBONES[backbone].network(n_classes=5)
    load_pretrained(module, Backbone(backbone, weights=weights))
    return module.to(memory_format=torch.channels_last)


def e2elab_loop(data, args, bf16: bool) -> float:
    module = network(args.backbone, args.weights)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=LR, weight_decay=WEIGHT_DECAY,
                         device=args.device, progress=False, cpu_amp=bf16, amp=bf16 or args.device != "cpu")
    started = time.perf_counter()
    train(module, data, backbone_step(args.backbone), config, collate_fn=whole_batch)
    return args.epochs * (len(data) // args.batch_size) * args.batch_size / (time.perf_counter() - started)


def plain_loop(data, args, bf16: bool) -> float:
    module = network(args.backbone, args.weights)
    return plain_training_rate(module, data, backbone_step(args.backbone), make_optimizer(module, LR, WEIGHT_DECAY, "adamw"),
                               batch_size=args.batch_size, epochs=args.epochs, device=args.device, bf16=bf16,
                               collate_fn=whole_batch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backbone", default="mobilenet_v2", choices=sorted(name for name, recipe in BACKBONES.items() if recipe.pretrained))
    parser.add_argument("--weights", default=None, help="the backbone's ImageNet .pth (default: its weights package)")
    args = parser.parse_args()
    bf16 = args.device == "cpu" and cpu_has_native_bf16()
    g = torch.Generator().manual_seed(0)
    data = TensorBatches(torch.randint(0, 256, (args.n, 3, args.size, args.size), dtype=torch.uint8, generator=g),
                         torch.randint(0, 5, (args.n,), generator=g))
    plain = plain_loop(data, args, bf16)
    shared = e2elab_loop(data, args, bf16)
    print(json.dumps({"benchmark": "finetune_throughput", "backbone": args.backbone, "device": args.device,
                      "threads": torch.get_num_threads(), "bf16": bf16, "image_size": args.size,
                      "batch_size": args.batch_size, "images": args.n, "epochs": args.epochs,
                      "images_per_s": round(shared, 1), "reference_images_per_s": round(plain, 1),
                      "ratio": round(shared / plain, 3)}))


if __name__ == "__main__":
    main()
