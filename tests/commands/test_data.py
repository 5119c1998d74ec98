"""``e2elab data list`` and ``e2elab data show`` on built-ins, folders and manifests."""

import json

import numpy as np
import soundfile as sf
from PIL import Image

from e2elab.cli import main


def test_data_list_names_every_builtin(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(tmp_path))
    assert main(["data", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"fsdd", "usps", "digits", "mnist", "fashion-mnist", "flowers5", "speech-digits"} <= set(rows)
    assert rows["digits"]["present"] and not rows["flowers5"]["present"]
    assert main(["data", "list"]) == 0
    assert "fashion-mnist" in capsys.readouterr().out


def test_data_show_digits(capsys):
    assert main(["data", "show", "digits", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 1797 and len(summary["classes"]) == 10
    assert summary["image_sizes"] == {"8x8": 1797} and summary["unreadable"] == []


def test_data_show_speech_manifest_finds_unreadable_clips(capsys, tmp_path):
    t = np.arange(1600) / 16000
    sf.write(tmp_path / "a.wav", 0.3 * np.sin(2 * np.pi * 300 * t), 16000)
    sf.write(tmp_path / "b.wav", 0.3 * np.sin(2 * np.pi * 300 * t[:800]), 8000)
    sf.write(tmp_path / "quiet.wav", np.zeros(1600), 16000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....not really")
    (tmp_path / "m.tsv").write_text("path\ttext\tspeaker\na.wav\tone two\ts1\nb.wav\ttwo\ts2\nquiet.wav\tthree\ts2\n"
                                    "broken.wav\tfour\ts1\nmissing.wav\tfive\ts3\n")
    assert main(["data", "show", str(tmp_path / "m.tsv")]) == 1  # the missing file stops loading
    assert "m.tsv:6" in capsys.readouterr().err
    assert main(["data", "show", str(tmp_path / "m.tsv"), "--skip-bad", "--decode", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 4 and summary["groups"]["count"] == 2
    assert summary["vocabulary"]["words"] == {"four": 1, "one": 1, "three": 1, "two": 2}
    assert summary["sample_rates"] == {"16000": 1, "8000": 1}  # of the readable clips
    unreadable = {u["item"].rsplit("/", 1)[-1]: u["reason"] for u in summary["unreadable"]}
    assert set(unreadable) == {"quiet.wav", "broken.wav"} and "silent" in unreadable["quiet.wav"]
    assert len(summary["skipped_while_loading"]) == 1


def test_data_show_image_folder_text_and_sampling(capsys, tmp_path):
    for cls, size in (("a", (10, 6)), ("b", (7, 7))):
        (tmp_path / cls).mkdir()
        for i in range(4):
            Image.new("RGB", size).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "b" / "4.png").write_bytes(b"")
    assert main(["data", "show", str(tmp_path), "--sample", "3"]) == 0
    out = capsys.readouterr().out
    assert "items: 9" in out and "classes: 2" in out and "a random sample of 3 items" in out
    assert main(["data", "show", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["image_sizes"] == {"10x6": 4, "7x7": 4} and len(summary["unreadable"]) == 1


def test_data_show_fsdd(capsys, shared_data):
    shared_data("fsdd")
    assert main(["data", "show", "fsdd", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 3000 and summary["groups"]["count"] == 6 and summary["vocabulary"]["size"] == 10
