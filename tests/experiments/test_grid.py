import json
import threading

import pytest

from e2elab.errors import RunFolderError
from e2elab.experiments.grid import Cell, cell_path, record_configuration, run_grid

CALLS: list[str] = []
_lock = threading.Lock()


def square(spec, offset):
    with _lock:
        CALLS.append(spec["name"])
    if spec.get("fail"):
        raise RuntimeError("this cell fails")
    return {"value": spec["x"] ** 2 + offset}


def cells(n=4, **extra):
    return [Cell(f"cell/{i}", {"name": f"c{i}", "x": i, **extra}) for i in range(n)]


@pytest.mark.parametrize("backend,jobs", [("sequential", 1), ("threading", 2)])
def test_runs_every_cell_and_saves_it(tmp_path, backend, jobs):
    CALLS.clear()
    results = run_grid(cells(), square, tmp_path, (10,), jobs=jobs, backend=backend, progress=False)
    assert results == {f"cell/{i}": {"value": i * i + 10} for i in range(4)}
    assert sorted(CALLS) == ["c0", "c1", "c2", "c3"]
    saved = json.loads(cell_path(tmp_path, "cell/2").read_text())
    assert saved["result"] == {"value": 14} and saved["spec"]["x"] == 2


def test_resume_skips_finished_cells(tmp_path):
    CALLS.clear()
    run_grid(cells(2), square, tmp_path, (0,), progress=False)
    CALLS.clear()
    results = run_grid(cells(4), square, tmp_path, (0,), progress=False)
    assert sorted(CALLS) == ["c2", "c3"]
    assert results["cell/0"] == {"value": 0} and results["cell/3"] == {"value": 9}


def test_resume_after_a_failure_keeps_the_finished_cells(tmp_path):
    CALLS.clear()
    grid = cells(3) + [Cell("cell/bad", {"name": "bad", "x": 9, "fail": True})]
    with pytest.raises(RuntimeError, match="this cell fails"):
        run_grid(grid, square, tmp_path, (0,), progress=False)
    CALLS.clear()
    run_grid(cells(3), square, tmp_path, (0,), progress=False)
    assert CALLS == []


def test_a_corrupt_cell_file_is_recomputed(tmp_path):
    run_grid(cells(2), square, tmp_path, (0,), progress=False)
    cell_path(tmp_path, "cell/1").write_text("{not json")
    CALLS.clear()
    results = run_grid(cells(2), square, tmp_path, (0,), progress=False)
    assert CALLS == ["c1"] and results["cell/1"] == {"value": 1}


def test_a_cell_computed_with_another_spec_is_refused_not_overwritten(tmp_path):
    run_grid(cells(2), square, tmp_path, (0,), progress=False)
    before = cell_path(tmp_path, "cell/0").read_text()
    changed = [Cell("cell/0", {"name": "c0", "x": 5}), Cell("cell/1", {"name": "c1", "x": 1})]
    with pytest.raises(RunFolderError, match=r"cell_0.json holds a result computed with other settings \(x differ\)"):
        run_grid(changed, square, tmp_path, (0,), progress=False)
    assert cell_path(tmp_path, "cell/0").read_text() == before


def test_the_recorded_configuration_must_match(tmp_path):
    record_configuration(tmp_path, {"experiment": "curve", "seeds": [0, 1], "sizes": (10, 20)})
    record_configuration(tmp_path, {"experiment": "curve", "seeds": [0, 1], "sizes": [10, 20]})  # same, as JSON
    with pytest.raises(RunFolderError, match=r"holds a curve run with other settings \(seeds differ\); use a new --out"):
        record_configuration(tmp_path, {"experiment": "curve", "seeds": [0], "sizes": [10, 20]})
    assert json.loads((tmp_path / "experiment.json").read_text())["seeds"] == [0, 1]


def test_duplicate_keys_and_unknown_backends_are_refused(tmp_path):
    with pytest.raises(ValueError, match="distinct"):
        run_grid([Cell("a", {}), Cell("a", {})], square, tmp_path, progress=False)
    with pytest.raises(ValueError, match="unknown backend"):
        run_grid(cells(1), square, tmp_path, (0,), backend="spark", progress=False)


@pytest.mark.parametrize("backend,package", [("dask", "distributed"), ("ray", "ray")])
def test_cluster_backends_name_the_missing_extra(tmp_path, backend, package):
    try:
        __import__(package)
        pytest.skip(f"{package} is installed")
    except ImportError:
        pass
    with pytest.raises(ImportError, match="distributed"):
        run_grid(cells(1), square, tmp_path, (0,), backend=backend, progress=False)
