"""The grid's cluster backends: a tiny learning curve through a local Dask cluster and a local Ray
instance gives the numbers of the local run, resumes from the cells on disk, and an address where
no cluster answers fails fast with a clear error."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from e2elab.cli import build_parser
from e2elab.data.dataset import Dataset
from e2elab.errors import ParameterError
from e2elab.experiments import backends, curve
from e2elab.experiments.backends import GridBackend, check_answers, host_and_port
from e2elab.experiments.grid import Cell, run_grid

# The end-to-end image network at its smallest (tests/test_contract.py's fast parameters).
FAST = {"width": 4, "epochs": 1, "batch_size": 8, "device": "cpu", "progress": False}


@pytest.fixture(scope="module")
def tiny_digits():
    """60 of scikit-learn's 8x8 digits, classes 0 to 2."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.flatnonzero(digits.target < 3)[:60]
    return Dataset(X=(digits.images[keep] * 15).astype(np.uint8), y=digits.target[keep].astype(str), task="image",
                   name="tiny-digits")


def tiny_curve(dataset, out, backend):
    return curve("image", dataset, out, pipelines=["end-to-end"], sizes=[9, 18, 36], seeds=[0], n_boot=10,
                 params={"end-to-end": FAST}, backend=backend, progress=False)


def errors_by_size(summary) -> dict:
    return {p["n"]: p["runs"] for p in summary["pipelines"]["end-to-end"]["points"]}


def cell_files(run_dir) -> dict:
    return {p.name: p.read_text() for p in sorted((run_dir / "cells").glob("*.json"))}


@pytest.fixture(scope="module")
def local_run(tiny_digits, tmp_path_factory):
    return errors_by_size(tiny_curve(tiny_digits, tmp_path_factory.mktemp("local"), "local"))


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_dask_cluster_gives_the_local_numbers_and_resumes(tiny_digits, local_run, dask_cluster, tmp_path):
    on_dask = GridBackend("dask", dask_cluster.scheduler_address)
    assert errors_by_size(tiny_curve(tiny_digits, tmp_path, on_dask)) == local_run
    before = cell_files(tmp_path)
    assert len(before) == 3
    (tmp_path / "cells" / "end-to-end__n36__seed0.json").unlink()  # as if the grid was stopped before this cell

    assert errors_by_size(tiny_curve(tiny_digits, tmp_path, on_dask)) == local_run
    after = cell_files(tmp_path)
    assert after.keys() == before.keys()
    recomputed = [name for name in before if after[name] != before[name]]
    assert recomputed == ["end-to-end__n36__seed0.json"]  # the others were read back, not retrained


def test_ray_instance_gives_the_local_numbers(tiny_digits, local_run, ray_instance, tmp_path):
    assert errors_by_size(tiny_curve(tiny_digits, tmp_path, "ray")) == local_run
    saved = json.loads((tmp_path / "curve.json").read_text())
    assert errors_by_size(saved) == local_run


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("name,what", [("dask", "Dask scheduler"), ("ray", "Ray cluster")])
def test_an_address_that_does_not_answer_is_a_clear_error(tmp_path, monkeypatch, name, what):
    pytest.importorskip("distributed" if name == "dask" else "ray")
    monkeypatch.setattr(backends, "CONNECT_TIMEOUT", 1.0)
    address = f"127.0.0.1:{_closed_port()}"
    grid = [Cell("one", {"x": 1})]
    with pytest.raises(ParameterError, match=f"--address {address}: no {what} answers at {address} within 1 s"):
        run_grid(grid, json.dumps, tmp_path, backend=GridBackend(name, address), progress=False)
    with pytest.raises(ParameterError, match="within 1 s"):
        check_answers(f"tcp://{address}", what, timeout=1.0)
    assert not (tmp_path / "cells").exists()


def test_addresses_are_read_in_the_forms_the_clusters_print():
    assert host_and_port("tcp://10.0.0.5:8786") == ("10.0.0.5", 8786)
    assert host_and_port("ray://head:10001") == ("head", 10001)
    assert host_and_port("10.0.0.5:6379") == ("10.0.0.5", 6379)
    with pytest.raises(ParameterError, match="expected HOST:PORT"):
        host_and_port("tcp://10.0.0.5")


def test_an_address_needs_a_cluster_backend(tmp_path):
    with pytest.raises(ParameterError, match="names a cluster, but backend 'local' runs on this machine"):
        run_grid([Cell("one", {"x": 1})], json.dumps, tmp_path, backend=GridBackend("local", "10.0.0.5:8786"),
                 progress=False)


@pytest.mark.parametrize("order", [["--backend", "dask", "--address", "h:1"], ["--address", "h:1", "--backend", "dask"]])
def test_backend_and_address_are_read_in_either_order(order):
    args = build_parser().parse_args(["curve", "image", "--data", "digits", "--out", "run", *order])
    assert args.backend == GridBackend("dask", "h:1")
    assert build_parser().parse_args(["compare", "image", "--data", "d", "--out", "r"]).backend == GridBackend("local")
