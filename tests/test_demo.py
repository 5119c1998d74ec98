"""`e2elab demo`: `--quick` end to end on the built-in offline data (slow: minutes on 2 cores), and
the opt-in translation and detection tasks on tiny generated data with a tiny budget."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from e2elab.cli import main
from e2elab.demo import OFFLINE_DATA, QUICK, Budget, TaskBudget, run_demo
from e2elab.detection.synthetic import face_photos
from e2elab.errors import ParameterError
from tests.test_contract import FAST_PARAMS
from tests.translation.synthetic import corpus


@pytest.mark.slow
def test_quick_demo_writes_a_full_report(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("E2ELAB_DATA_DIR", raising=False)
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    for section in ("pipelines", "comparison", "curves", "confusions", "explanations", "training", "reproduce"):
        assert f'id="{section}"' in page
    assert "Nothing of this kind" not in page
    run = json.loads((out / "run.json").read_text())
    assert set(run["findings"]) == {"speech", "image"}
    for task in ("speech", "image"):
        results = json.loads((out / task / "compare" / "results.json").read_text())
        assert set(results["pipelines"]) == {"end-to-end", "traditional"}
    assert "report:" in capsys.readouterr().out


# Just enough of each opt-in task to go through compare, curve, final models and explanations.
TINY_OPT_IN = Budget(
    tasks={}, seeds=(0,), explain_items=1,
    opt_in={
        "translation": TaskBudget(max_items=48, sizes=(0.5, 1.0),
                                  params={kind: dict(FAST_PARAMS["translation", kind]) for kind in ("end-to-end", "traditional")}),
        "detection": TaskBudget(max_items=8, sizes=(0.5, 1.0),
                                params={kind: dict(FAST_PARAMS["detection", kind]) for kind in ("end-to-end", "traditional")}),
    },
)


def _box_folder(root):
    """ROOT/NN.png synthetic face photos and ROOT/boxes.tsv, one row per face."""
    root.mkdir()
    photos, boxes = face_photos(10, seed=0, faces=2)
    rows = ["path\tx\ty\tw\th"]
    for i, (photo, faces) in enumerate(zip(photos, boxes)):
        Image.fromarray(photo).save(root / f"{i:02d}.png")
        rows += [f"{i:02d}.png\t" + "\t".join(f"{v:g}" for v in box) for box in faces]
    (root / "boxes.tsv").write_text("\n".join(rows) + "\n")
    return root


def _parallel_folder(root):
    """ROOT (named for its language pair, de-en) with train and test files of both languages."""
    root.mkdir()
    for split, n, seed in (("train", 48, 0), ("test", 12, 1)):
        german, english = corpus(n, seed)
        (root / f"{split}.de").write_text("\n".join(german) + "\n")
        (root / f"{split}.en").write_text("\n".join(english) + "\n")
    return root


def test_opt_in_tasks_join_the_run_and_its_report(tmp_path, capsys):
    faces, sentences = _box_folder(tmp_path / "faces"), _parallel_folder(tmp_path / "tiny.de-en")
    out = tmp_path / "demo"
    run_demo(out, data={"detection": str(faces), "translation": str(sentences)}, budget=TINY_OPT_IN)
    run = json.loads((out / "run.json").read_text())
    assert list(run["findings"]) == ["translation", "detection"]
    assert run["findings"]["detection"]["metric"] == "ap50_error" and run["findings"]["translation"]["metric"] == "bleu_error"
    for task in ("translation", "detection"):
        assert set(run["findings"][task]["pipelines"]) == {"end-to-end", "traditional"}
        assert set(run["findings"][task]["explanations"]) == {"end-to-end", "traditional"}
        assert (out / task / "curve" / "curve.json").is_file()
    assert f"--detection {faces}" in run["commands"][0] and f"--translation {sentences}" in run["commands"][0]
    page = (out / "report.html").read_text()
    for task, data in (("detection", faces), ("translation", sentences)):
        assert page.count(f"<h3>{task} on {data}</h3>") == 3  # comparison, curves and examples
        assert f"{task} &middot; end-to-end" in page and f"{task} &middot; traditional" in page  # stage diagrams
    assert f"translation on {sentences} (bleu_error)" in capsys.readouterr().out


def test_without_the_flags_the_demo_runs_only_its_offline_tasks(tmp_path, monkeypatch):
    chosen = {}
    monkeypatch.delenv("E2ELAB_DATA_DIR", raising=False)
    monkeypatch.setattr("e2elab.demo.run_demo", lambda out, **options: chosen.update(options))
    assert main(["demo", "--quick", "--out", str(tmp_path / "plain")]) == 0
    assert chosen["data"] == {}
    assert list(QUICK.with_tasks_of({**OFFLINE_DATA, **chosen["data"]}).tasks) == ["speech", "image"]
    assert main(["demo", "--quick", "--detection", "facemask", "--out", str(tmp_path / "faces")]) == 0
    assert chosen["data"] == {"detection": "facemask"}
    assert list(QUICK.with_tasks_of({**OFFLINE_DATA, **chosen["data"]}).tasks) == ["speech", "image", "detection"]


def test_data_for_a_task_the_demo_does_not_run_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="no task 'sound'"):
        run_demo(tmp_path / "demo", data={"sound": "fsdd"}, budget=TINY_OPT_IN)
