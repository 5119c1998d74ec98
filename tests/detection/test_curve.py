"""`e2elab curve detection` end to end on a tiny folder of synthetic photos, both pipelines: the
learning curves, their laws and the crossover come out in the table and in curve.json."""

import json

import pytest
from PIL import Image

from e2elab.cli import main
from e2elab.detection.synthetic import face_photos
from e2elab.experiments.schemas import curve_schema, validate

END_TO_END = ["width=4", "neck_channels=8", "input_size=96", "train_size=64", "epochs=1", "batch_size=6",
              'device="cpu"', "progress=false"]
TRADITIONAL = ["window=24", "mining_rounds=1", "negatives_per_image=4", "progress=false"]
FAST = [arg for kind, params in (("end-to-end", END_TO_END), ("traditional", TRADITIONAL))
        for param in params for arg in ("--param", f"{kind}.{param}")]


@pytest.fixture
def face_folder(tmp_path):
    """16 synthetic photos (96 x 96, two faces each) and their boxes.tsv."""
    root = tmp_path / "faces"
    root.mkdir()
    rows = ["path\tx\ty\tw\th"]
    for i, (photo, faces) in enumerate(zip(*face_photos(16, seed=0, faces=2))):
        Image.fromarray(photo).save(root / f"{i:02d}.png")
        rows += [f"{i:02d}.png\t" + "\t".join(f"{v:g}" for v in box) for box in faces]
    (root / "boxes.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_curve_of_both_detectors_reports_the_crossover(face_folder, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["curve", "detection", "--data", str(face_folder), "--out", str(run), "--sizes", "3,6,12",
                 "--seeds", "1", "--bootstrap", "20", "--backend", "sequential", "--no-progress", *FAST]) == 0
    table = capsys.readouterr().out
    summary = json.loads((run / "curve.json").read_text())
    validate(summary, curve_schema())
    assert summary["unit"] == "items" and summary["sizes"] == [3, 6, 12]
    assert summary["test"]["n_items"] == 4  # a random quarter of the 16 photos, the same for every size
    for kind in ("end-to-end", "traditional"):
        entry = summary["pipelines"][kind]
        assert [p["n_items"] for p in entry["points"]] == [3, 6, 12]
        assert entry["law"] is not None
        for point in entry["points"]:
            assert point["mean"] == pytest.approx(1 - point["ap50"]) and 0 <= point["coco_ap"] <= point["ap50"]
    assert summary["crossover_explanation"] and "crossover" in summary
    assert f"crossover: {summary['crossover_explanation']}" in table
    assert "traditional: error(n) =" in table and "end-to-end: error(n) =" in table
