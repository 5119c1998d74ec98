"""Faults a long run meets: killed mid-way, a full disk, a read-only folder, a damaged checkpoint.

The kill tests run `e2elab` in a subprocess on the built-in `digits` (kill -9 leaves no chance to
clean up); the others run in-process on the stand-in pipeline. Size-limited and read-only folders
are real tmpfs mounts where this process may mount (root in a container), else the test says why
it skips; a full disk during the save is a real write failure under RLIMIT_FSIZE.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e2elab.cli import main
from e2elab.io import load
from e2elab.nn import read_metrics

TRAIN = ["train", "image", "--data", "digits", "--param", "epochs=8", "--param", "width=8", "--param", "progress=false",
         "--seed", "3"]
CURVE = ["curve", "image", "--data", "digits", "--pipelines", "end-to-end", "--sizes", "100,200,400", "--seeds", "1",
         "--param", "end-to-end.epochs=3", "--param", "end-to-end.width=8", "--bootstrap", "20", "--no-progress"]


def cli(*args, **options) -> subprocess.Popen:
    """`e2elab ARGS` in a subprocess on one thread, as a user would start it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen([sys.executable, "-m", "e2elab.cli", *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **options)


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = process.communicate()
    assert process.returncode == 0, err
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def kill_when(process: subprocess.Popen, ready) -> None:
    """kill -9 `process` as soon as `ready()` holds; the test fails if the run ended first."""
    while not ready():
        assert process.poll() is None, f"the run ended before it could be killed: {process.communicate()[1]}"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()


def without_timings(value):
    """`value` less its wall-clock entries, the only part two identical runs may differ in."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if "seconds" not in k}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


@pytest.mark.slow
def test_training_killed_after_a_checkpoint_resumes_to_the_uninterrupted_result(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    finish(cli(*TRAIN, "--out", whole))
    process = cli(*TRAIN, "--out", killed)
    kill_when(process, lambda: len(read_metrics(killed / "checkpoints")) >= 1)
    done_before_kill = read_metrics(killed / "checkpoints")
    assert 1 <= len(done_before_kill) < 8 and not (killed / "model").exists()

    finish(cli(*TRAIN, "--out", killed, "--resume"))
    rows = read_metrics(killed / "checkpoints")
    # The epochs done before the kill were not run again: their rows, timings included, are kept.
    assert rows[:len(done_before_kill)] == done_before_kill
    assert without_timings(rows) == without_timings(read_metrics(whole / "checkpoints"))
    assert [r["epoch"] for r in rows] == list(range(1, 9))
    result, expected = (json.loads((run / "train.json").read_text()) for run in (killed, whole))
    assert result["value"] == expected["value"]


@pytest.mark.slow
def test_curve_killed_mid_grid_reuses_its_cells_and_ends_as_an_uninterrupted_run(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    finish(cli(*CURVE, "--out", whole))
    process = cli(*CURVE, "--out", killed)
    kill_when(process, lambda: any((killed / "cells").glob("*.json")))
    finished = {path.name: path.read_text() for path in (killed / "cells").glob("*.json")}
    assert 1 <= len(finished) < 3 and not (killed / "curve.json").exists()

    finish(cli(*CURVE, "--out", killed))
    for name, text in finished.items():  # reused, not recomputed (a new file would hold new timings)
        assert (killed / "cells" / name).read_text() == text
    result, expected = (json.loads((run / "curve.json").read_text()) for run in (killed, whole))
    assert without_timings(result) == without_timings(expected)


@pytest.fixture
def mount_tmpfs(tmp_path):
    """mount(options) -> a fresh tmpfs mounted with `options`; skips where this process may not mount."""
    mounted = []

    def mount(options: str) -> Path:
        point = tmp_path / f"mount{len(mounted)}"
        point.mkdir()
        if shutil.which("mount") is None:
            pytest.skip("no mount command to make a size-limited or read-only file system")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=True)


def one_line_error(capsys, code) -> str:
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_too_little_free_space_is_refused_before_training(mount_tmpfs, stand_in_pipeline, image_folder, capsys):
    run = mount_tmpfs("size=2m") / "run"
    code = main(["train", "image", "--data", str(image_folder), "--pipeline", "traditional", "--out", str(run)])
    assert "MB free, and the run may write up to 50 MB" in one_line_error(capsys, code)
    assert not (run / "model").exists()


def test_read_only_folder_is_refused_before_training(mount_tmpfs, stand_in_pipeline, image_folder, capsys):
    run = mount_tmpfs("ro,size=1m") / "run"  # read-only even for root, unlike chmod
    code = main(["train", "image", "--data", str(image_folder), "--pipeline", "traditional", "--out", str(run)])
    assert f"{run}: cannot write there (Read-only file system)" in one_line_error(capsys, code)


def test_a_save_that_fails_keeps_the_previous_model(tmp_path, stand_in_pipeline, image_folder, capsys):
    run = tmp_path / "run"
    command = ["train", "image", "--data", str(image_folder), "--pipeline", "traditional", "--out", str(run)]
    assert main(command) == 0
    before = {path.name: path.read_bytes() for path in (run / "model").iterdir()}
    largest = max(len(data) for data in before.values())
    capsys.readouterr()

    # Files may not grow past half the model's largest file: its save fails as on a full disk.
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (largest // 2, limits[1]))
    try:
        code = main([*command, "--resume"])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert "could not save the model (File too large); any previous model there is unchanged" in one_line_error(capsys, code)
    assert {path.name: path.read_bytes() for path in (run / "model").iterdir()} == before
    assert list(load(run / "model").predict([image_folder / "left" / "0.png"])) == ["left"]


def test_a_truncated_checkpoint_is_named_when_resuming(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint.pt").write_bytes(b"PK\x03\x04 cut short")
    code = main(["train", "image", "--data", "digits", "--param", "epochs=1", "--param", "width=8", "--out", str(run), "--resume"])
    assert "checkpoint.pt: cannot resume from this checkpoint, it is corrupt or truncated" in one_line_error(capsys, code)
