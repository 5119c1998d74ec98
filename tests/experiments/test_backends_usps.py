"""A learning curve on USPS run through the Dask and the Ray backends gives the numbers of the local
run with the same seeds (slow: a few minutes; needs the distributed extra and the real data).

    E2ELAB_DATA_DIR=DATA pytest -m slow tests/experiments/test_backends_usps.py
"""

from __future__ import annotations

import json

import pytest

from e2elab.cli import main

pytestmark = pytest.mark.slow

GRID = ["curve", "image", "--data", "usps", "--pipelines", "traditional,end-to-end", "--sizes", "50,100,200,400",
        "--seeds", "0,1", "--param", "end-to-end.epochs=2", "--param", "end-to-end.input_size=16",
        "--bootstrap", "50", "--no-progress"]


def curve_runs(run_dir) -> dict:
    summary = json.loads((run_dir / "curve.json").read_text())
    return {kind: {p["n"]: p["runs"] for p in entry["points"]} for kind, entry in summary["pipelines"].items()}


@pytest.mark.parametrize("backend,package", [("dask", "distributed"), ("ray", "ray")])
def test_usps_curve_on_a_cluster_backend_matches_the_local_run(shared_data, tmp_path, backend, package):
    shared_data("usps")
    pytest.importorskip(package)
    # Two local worker processes train with one thread each, as the cluster's workers do: a network
    # trained with another thread count sums in another order and may end elsewhere.
    assert main([*GRID, "--out", str(tmp_path / "local"), "--backend", "local", "--jobs", "2"]) == 0
    # no --address: a cluster on this machine is started for the grid and stopped after it
    assert main([*GRID, "--out", str(tmp_path / backend), "--backend", backend]) == 0
    assert curve_runs(tmp_path / backend) == curve_runs(tmp_path / "local")
