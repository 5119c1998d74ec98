"""Unlabeled items in data sources: a folder's `unlabeled/` sub-folder, a manifest's empty label cell or blank transcript."""

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


def clip(path):
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, 0.3 * np.sin(np.arange(8000) / 5), 16000)
    return path


def test_unlabeled_folder_gives_clips_without_a_transcript(tmp_path):
    clip(tmp_path / "unlabeled" / "a.wav")
    clip(tmp_path / "yes" / "b.wav")
    assert sorted(load_dataset(tmp_path).y.tolist()) == ["", "yes"]


def test_unlabeled_clips_are_refused_in_a_held_out_split(tmp_path):
    clip(tmp_path / "train" / "yes" / "a.wav")
    clip(tmp_path / "train" / "unlabeled" / "b.wav")
    clip(tmp_path / "test" / "unlabeled" / "c.wav")
    with pytest.raises(ManifestError, match="c.wav: no transcript in the test split"):
        load_dataset(tmp_path)
    ds = load_dataset(tmp_path, on_error="skip")
    assert ds.y.tolist() == ["", "yes"] and ds.split.tolist() == ["train", "train"] and len(ds.skipped) == 1


def test_manifest_empty_label_cell_is_an_unlabeled_image(tmp_path):
    for name in ("a.png", "b.png", "c.png"):
        picture(tmp_path / name)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\na.png,cat\nb.png,\nc.png,dog\n")
    assert load_dataset(manifest).y.tolist() == ["cat", UNLABELED, "dog"]


@pytest.mark.parametrize("text", ["", "   "])
def test_manifest_blank_transcript_is_an_unlabeled_clip(tmp_path, text):
    clip(tmp_path / "a.wav")
    clip(tmp_path / "b.wav")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio_filepath": "a.wav", "text": text}) + "\n"
                        + json.dumps({"audio_filepath": "b.wav", "text": "Yes."}) + "\n")
    assert load_dataset(manifest).y.tolist() == ["", "yes"]


def test_manifest_transcript_without_words_is_still_an_error(tmp_path):
    clip(tmp_path / "a.wav")
    manifest = tmp_path / "m.tsv"
    manifest.write_text("path\ttext\na.wav\t?!\n")
    with pytest.raises(ManifestError, match="no words once normalised") as caught:
        load_dataset(manifest)
    assert caught.value.source == f"{manifest}:2"
