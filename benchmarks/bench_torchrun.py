"""Training items per second of `torchrun -m e2elab train` with 2 processes against 1, same job, same run.

Trains the end-to-end image network twice on the same data, seed and global batch: once as one
torchrun process, once as two DDP ranks (gloo on the CPU, NCCL on GPUs), each into a fresh
folder. The machine's cores are shared out (OMP_NUM_THREADS = cores / processes), so both runs
use the whole CPU. Prints one JSON line: each run's training items per second (items of the
training epochs over the epochs' seconds from metrics.jsonl, so start-up, decoding and saving are
left out), their ratio, and both runs' last training losses. On a machine with few cores two
processes gain little or lose: they split the same cores and add an all-reduce per step.

    E2ELAB_DATA_DIR=... python benchmarks/bench_torchrun.py --data usps --param epochs=2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def torchrun_train(processes: int, args, out: Path) -> dict:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--standalone",
               "-m", "e2elab", "train", "image", "--data", args.data, "--out", str(out), "--param", "progress=false"]
    for param in args.param or []:
        command += ["--param", param]
    threads = max(1, (os.cpu_count() or 1) // processes)
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        sys.exit(f"torchrun with {processes} process(es) failed:\n{done.stderr[-3000:]}")
    record = json.loads((out / "train.json").read_text())
    epochs = [json.loads(line) for line in (out / "checkpoints" / "metrics.jsonl").read_text().splitlines()]
    validation = record["params"]["validation"]  # a share, or Validation's fields as a dict
    fraction = float(validation["fraction"] if isinstance(validation, dict) else validation)
    items = len(epochs) * record["n_train"] * (1 - fraction)  # the validation hold-out is not trained on
    seconds = sum(row["seconds"] for row in epochs)
    return {"items_per_second": round(items / seconds, 1), "epoch_seconds": round(seconds, 2),
            "train_seconds": record["train_seconds"], "last_train_loss": round(epochs[-1]["train_loss"], 4),
            "threads_per_process": threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="usps")
    parser.add_argument("--processes", type=int, default=2, help="ranks of the distributed run (against 1)")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="a parameter of the end-to-end pipeline")
    args = parser.parse_args()

    runs = {}
    for processes in (1, args.processes):
        with tempfile.TemporaryDirectory(prefix=f"bench-torchrun{processes}-") as out:
            runs[processes] = torchrun_train(processes, args, Path(out))
    print(json.dumps({
        "benchmark": "torchrun",
        "data": args.data, "params": args.param or [],
        "processes1": runs[1], f"processes{args.processes}": runs[args.processes],
        "items_per_second_ratio": round(runs[args.processes]["items_per_second"] / runs[1]["items_per_second"], 3),
        "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
