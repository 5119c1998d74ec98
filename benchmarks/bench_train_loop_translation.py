"""Training throughput of the shared loop (e2elab.nn.train) against a plain PyTorch loop, on the
end-to-end translator's Transformer: target tokens per second.

Both train the same network (same initial weights) on the same token-bucketed batches of a
synthetic German -> English corpus (tests/translation/synthetic.py), with the translator's own
step (label-smoothed cross-entropy) and AdamW. The shared loop adds its warm-up and one-cycle
schedule, gradient clipping, the moving average of the weights and its bookkeeping. The two run
alternately `--repeats` times and the best of each is kept. Prints one JSON line; the target is
a ratio of at least 0.9.

    python benchmarks/bench_train_loop_translation.py --pairs 2000 --epochs 1
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "translation"))
from synthetic import corpus  # noqa: E402

from e2elab.nn import TrainConfig, train  # noqa: E402
from e2elab.translation.seq2seq_training import AveragedNetwork, PairBatches, identity, training_step  # noqa: E402
from e2elab.translation.subwords import SubwordCodec  # noqa: E402
from e2elab.translation.transformer import Seq2SeqTransformer  # noqa: E402

MAX_TOKENS = 512


def plain_loop(module, data, batches, step, epochs: int, lr: float) -> None:
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=0.01)
    module.train()
    for epoch in range(epochs):
        for indices in batches(epoch):
            loss = step(module, data.__getitems__(indices), torch.device("cpu"))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            module.update()


def shared_loop(module, data, batches, step, epochs: int, lr: float) -> None:
    config = TrainConfig(epochs=epochs, batch_size=64, lr=lr, weight_decay=0.01, warmup=0.1, device="cpu",
                         amp=False, seed=0, progress=False, keep="last", drop_last=False)
    train(module, data, step, config, collate_fn=identity, batch_sampler=batches)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sources, targets = corpus(args.pairs, seed=0)
    codec = SubwordCodec.learn(sources, targets, 200, joint=True, progress=False)
    data = PairBatches(codec.source.encode(sources), codec.target.encode(targets))
    batches = data.token_batches(MAX_TOKENS, seed=0)
    tokens = args.epochs * sum(len(t) + 1 for t in data.targets)
    torch.manual_seed(0)
    network = Seq2SeqTransformer(len(codec.source), len(codec.target), d_model=64, heads=2, encoder_layers=2,
                                 decoder_layers=2, d_ff=128, dropout=0.1, share_embeddings=True)
    step = training_step(0.1)
    best = {"plain": 0.0, "shared": 0.0}
    for _ in range(args.repeats):
        for name, loop in (("plain", plain_loop), ("shared", shared_loop)):
            module = AveragedNetwork(copy.deepcopy(network), 0.998)
            start = time.perf_counter()
            loop(module, data, batches, step, args.epochs, 1e-3)
            best[name] = max(best[name], tokens / (time.perf_counter() - start))
    print(json.dumps({"benchmark": "train_loop_translation", "threads": 1, "target_tokens": tokens,
                      "shared_tokens_per_s": round(best["shared"]), "plain_tokens_per_s": round(best["plain"]),
                      "ratio": round(best["shared"] / best["plain"], 3)}))


if __name__ == "__main__":
    main()
