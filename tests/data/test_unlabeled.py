"""Unlabeled images in data sources: a folder's `unlabeled/` sub-folder and a manifest's empty label cell."""

import json

import numpy as np
import pytest
from PIL import Image

from e2elab.cli import main
from e2elab.data.manifests import UNLABELED
from e2elab.data.sources import load_dataset
from e2elab.errors import ManifestError


def picture(path, color=(200, 10, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), color).save(path)
    return path


def test_unlabeled_folder_gives_unlabeled_items_and_data_show_counts_them(tmp_path, capsys):
    for folder, n in (("cat", 2), ("dog", 3), ("unlabeled", 4)):
        for i in range(n):
            picture(tmp_path / folder / f"{i}.png")
    ds = load_dataset(tmp_path)
    assert sorted(ds.y.tolist()) == [UNLABELED] * 4 + ["cat"] * 2 + ["dog"] * 3
    assert main(["data", "show", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 9 and summary["classes"] == {UNLABELED: 4, "cat": 2, "dog": 3}


def test_unlabeled_folder_is_a_transcript_in_speech_data(tmp_path):
    import soundfile as sf

    path = tmp_path / "unlabeled" / "a.wav"
    path.parent.mkdir()
    sf.write(path, 0.3 * np.sin(np.arange(8000) / 5), 16000)
    assert load_dataset(tmp_path).y.tolist() == ["unlabeled"]  # a speech folder's name is its words


def test_manifest_empty_label_cell_is_an_unlabeled_image(tmp_path):
    for name in ("a.png", "b.png", "c.png"):
        picture(tmp_path / name)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\na.png,cat\nb.png,\nc.png,dog\n")
    assert load_dataset(manifest).y.tolist() == ["cat", UNLABELED, "dog"]


def test_manifest_empty_transcript_is_still_an_error(tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "a.wav", 0.3 * np.sin(np.arange(8000) / 5), 16000)
    manifest = tmp_path / "m.tsv"
    manifest.write_text("path\ttext\na.wav\t\n")
    with pytest.raises(ManifestError, match="empty transcript"):
        load_dataset(manifest)
