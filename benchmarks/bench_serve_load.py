"""Load on `e2elab serve` over loopback: 20 concurrent clients for 30 s against POST /predict with one
USPS image (throughput, p50 / p99 latency, failed requests), then one overload burst past the
queue (how many 503s, and whether the server still answers afterwards).

The reference, measured in the same run: the model's own predict_details on the same image in this
process, so that `p50_over_in_process` is what HTTP, the form upload, decoding and the worker pool
add. The server runs in a subprocess (`e2elab serve` on 127.0.0.1, a free port); every loop is
bounded in time and every connection has a timeout, so the benchmark always ends.

    E2ELAB_DATA_DIR=... python benchmarks/bench_serve_load.py            # trains a small USPS model
    python benchmarks/bench_serve_load.py --model runs/usps/model --seconds 30 --clients 20
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

BOUNDARY = "e2elab-bench-boundary"
CONNECT_SECONDS = 60.0  # each request's timeout: a hung server fails the benchmark, never stalls it


def multipart_png(png: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"digit.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{BOUNDARY}--\r\n".encode()


def post(connection: http.client.HTTPConnection, body: bytes) -> int:
    connection.request("POST", "/predict", body=body, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    response = connection.getresponse()
    response.read()
    return response.status


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(port: int, process: subprocess.Popen, limit_seconds: float = 300.0) -> None:
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode} before answering")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer /health within {limit_seconds:.0f} s")


def steady_load(port: int, body: bytes, clients: int, seconds: float) -> dict:
    """`clients` threads, each on its own keep-alive connection, posting until `seconds` have passed."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CONNECT_SECONDS)
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            try:
                status = post(connection, body)
            except OSError:
                status = 0  # a dropped connection counts as a failure
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CONNECT_SECONDS)
            with lock:
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ok = statuses.get(200, 0)
    return {"clients": clients, "seconds": round(elapsed, 2), "requests": len(latencies), "ok": ok,
            "failed": len(latencies) - ok, "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "throughput_per_s": round(ok / elapsed, 2),
            "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 2),
            "p99_ms": round(1000 * float(np.percentile(latencies, 99)), 2)}


def overload_burst(port: int, body: bytes, requests: int) -> dict:
    """`requests` posted at once, past the pool's workers and queue: the rest must be 503s, not hangs."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    go = threading.Event()

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CONNECT_SECONDS)
        go.wait()
        try:
            status = post(connection, body)
        except OSError:
            status = 0
        with lock:
            statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(requests)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CONNECT_SECONDS)
    after = post(connection, body)
    return {"requests": requests, "ok": statuses.get(200, 0), "busy_503": statuses.get(503, 0),
            "other": sum(v for k, v in statuses.items() if k not in (200, 503)), "predict_after_burst": after}


def train_model(data: str, folder: Path) -> Path:
    """A small end-to-end image model of `data`, saved to `folder`."""
    import e2elab

    dataset = e2elab.load_dataset(data)
    model = e2elab.make_pipeline("image", "end-to-end", epochs=3, device="cpu", progress=False, seed=0)
    model.fit(dataset.X, dataset.y)
    return e2elab.save(model, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an image model folder (default: train a small one on --data)")
    parser.add_argument("--data", default="usps" if os.environ.get("E2ELAB_DATA_DIR") else "digits",
                        help="where the image (and the default model) come from (default usps, or digits offline)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue", type=int, default=32, help="the server's queue: above --clients, so steady load never sees a 503")
    parser.add_argument("--burst", type=int, default=200, help="requests at once in the overload burst")
    args = parser.parse_args()

    from PIL import Image

    import e2elab
    from e2elab.data.image import as_image

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        model_dir = Path(args.model) if args.model else train_model(args.data, Path(scratch) / "model")
        item = e2elab.load_dataset(args.data).X[0]
        buffer = io.BytesIO()
        Image.fromarray(as_image(item)).save(buffer, format="PNG")
        png = buffer.getvalue()

        model = e2elab.load(model_dir)
        model.predict_details([as_image(item)])  # warm up
        runs = []
        for _ in range(50):
            start = time.perf_counter()
            model.predict_details([as_image(item)])
            runs.append(time.perf_counter() - start)
        in_process_ms = 1000 * float(np.median(runs))

        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "e2elab", "serve", str(model_dir), "--port", str(port),
                                   "--workers", str(args.workers), "--queue", str(args.queue)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_health(port, server)
            body = multipart_png(png)
            load = steady_load(port, body, args.clients, args.seconds)
            burst = overload_burst(port, body, args.burst)
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(json.dumps({
        "benchmark": "serve_load", "data": args.data, "model": str(args.model or f"trained on {args.data}"),
        "workers": args.workers, "queue": args.queue, "steady": load, "overload": burst,
        "in_process_predict_ms": round(in_process_ms, 3),
        "p50_over_in_process": round(load["p50_ms"] / in_process_ms, 2),
        "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
