"""Folders, manifests and Kaldi directories load into Datasets; bad entries are named or skipped."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

import e2elab
from e2elab.data.sources import load_dataset
from e2elab.errors import DataError, ManifestError


def tone(path: Path, seconds=0.1, rate=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), rate)
    return path


def picture(path: Path, size=(8, 6), color=(200, 10, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


# --- folders of class sub-folders ------------------------------------------------------------


def test_image_folder_infers_task_and_labels(tmp_path):
    for cls in ("cat", "dog"):
        for i in range(3):
            picture(tmp_path / cls / f"{i}.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / "README.md").write_text("loose file")
    (tmp_path / "cat" / ".DS_Store").write_text("hidden")
    ds = e2elab.load_dataset(str(tmp_path))
    assert ds.task == "image" and len(ds) == 6
    assert ds.classes == ["cat", "dog"]
    assert ds.split is None
    assert all(Path(x).is_file() for x in ds.X)
    assert len(np.unique(ds.groups)) == 1
    reasons = dict(ds.skipped)
    assert "a text file in an image folder" in reasons[str(tmp_path / "dog" / "notes.txt")]
    assert reasons[str(tmp_path / "README.md")] == "not inside a class folder"
    assert len(ds.skipped) == 2  # hidden files are ignored silently


def test_folder_with_split_level(tmp_path):
    for split, n in (("train", 3), ("val", 1), ("test", 2)):
        for cls in ("a", "b"):
            for i in range(n):
                picture(tmp_path / split / cls / f"{i}.jpg")
    ds = load_dataset(tmp_path)
    assert ds.splits == ["train", "val", "test"]
    assert load_dataset(tmp_path, split="test").y.tolist() == ["a", "a", "b", "b"]
    assert len(load_dataset(tmp_path, split="train")) == 6


def test_folder_mixing_split_and_class_folders_is_refused(tmp_path):
    picture(tmp_path / "train" / "a" / "0.png")
    picture(tmp_path / "b" / "0.png")
    with pytest.raises(ManifestError, match="mixes split folders"):
        load_dataset(tmp_path)


def test_speech_folder_transcripts_and_speaker_level(tmp_path):
    tone(tmp_path / "Seven" / "alice" / "1.wav")
    tone(tmp_path / "Seven" / "bob" / "1.wav")
    tone(tmp_path / "good_morning" / "alice" / "2.flac")
    tone(tmp_path / "good_morning" / "3.wav")
    picture(tmp_path / "Seven" / "cover.png")
    ds = load_dataset(tmp_path)
    assert ds.task == "speech"
    assert sorted(set(ds.y)) == ["good morning", "seven"]
    groups = dict(zip([Path(x).name for x in ds.X], ds.groups))
    assert groups["1.wav"] in ("alice", "bob") and groups["2.flac"] == "alice"
    assert groups["3.wav"].startswith("utt:")  # no speaker level: the clip is its own group
    assert any("an image file in a speech folder" in r for _, r in ds.skipped)


def test_speech_folder_group_pattern(tmp_path):
    for name in ("0_george_1.wav", "0_theo_2.wav", "1_george_3.wav", "oops.wav"):
        tone(tmp_path / ("zero" if name[0] == "0" else "one") / name)
    ds = load_dataset(tmp_path, on_error="skip", group_pattern=r"^\d_(?P<group>[a-z]+)_\d+$")
    assert sorted(ds.groups) == ["george", "george", "theo"]
    assert "does not match group_pattern" in ds.skipped[0][1]
    with pytest.raises(ManifestError, match="oops.wav"):
        load_dataset(tmp_path, group_pattern=r"^\d_(?P<group>[a-z]+)_\d+$")


def test_speech_folder_with_unusable_class_name(tmp_path):
    tone(tmp_path / "café" / "1.wav")
    tone(tmp_path / "日本" / "1.wav")
    with pytest.raises(ManifestError, match="outside the alphabet"):
        load_dataset(tmp_path)
    ds = load_dataset(tmp_path, on_error="skip")
    assert ds.y.tolist() == ["cafe"] and len(ds.skipped) == 1


def test_empty_folder_and_forced_task(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(ManifestError, match="no files found"):
        load_dataset(tmp_path)
    picture(tmp_path / "a" / "0.png")
    with pytest.raises(ManifestError, match=r"no audio files for a speech data set \(found: 1 image\)"):
        load_dataset(tmp_path, task="speech")


# --- TSV / CSV manifests ------------------------------------------------------------------------


def test_tsv_manifest_resolves_relative_paths(tmp_path):
    tone(tmp_path / "clips" / "a.wav")
    tone(tmp_path / "clips" / "b.wav")
    absolute = tone(tmp_path / "elsewhere" / "c.wav")
    (tmp_path / "m.tsv").write_text("path\ttext\tspeaker\n"
                                    "clips/a.wav\tHello, World!\ts1\n"
                                    "\n"
                                    f"clips/b.wav\t42\ts2\n{absolute}\tok\ts1\n")
    ds = load_dataset(tmp_path / "m.tsv")
    assert ds.task == "speech"
    assert ds.y.tolist() == ["hello world", "four two", "ok"]
    assert ds.groups.tolist() == ["s1", "s2", "s1"]
    assert ds.X[0] == str(tmp_path / "clips" / "a.wav")


@pytest.mark.parametrize("row, problem", [
    ("missing.wav\thi\ts", "file not found"),
    ("a.wav\thi", "expected 3 columns, found 2"),
    ("a.wav\t?!\ts", "transcript has no words once normalised"),
    ("a.wav\t日本\ts", "outside the alphabet"),
    ("\thi\ts", "empty 'path'"),
    ("a.png\thi\ts", "an image file in a speech data set"),
    ("a.xyz\thi\ts", "unknown extension"),
])
def test_tsv_manifest_bad_rows_name_the_line(tmp_path, row, problem):
    tone(tmp_path / "a.wav")
    manifest = tmp_path / "m.tsv"
    manifest.write_text(f"path\ttext\tspeaker\na.wav\tgood\ts\n{row}\n")
    with pytest.raises(ManifestError, match=problem) as err:
        load_dataset(manifest)
    assert err.value.source == f"{manifest}:3"
    ds = load_dataset(manifest, on_error="skip")
    assert len(ds) == 1 and len(ds.skipped) == 1 and problem in ds.skipped[0][1]


def test_csv_manifest_with_labels_and_split(tmp_path):
    for name in ("x.png", "y.png", "z.png"):
        picture(tmp_path / "img" / name)
    (tmp_path / "m.csv").write_text("label,path,group,split\ncat,img/x.png,g1,train\ndog,img/y.png,g2,test\n"
                                    "dog,img/z.png,g2,holdout\n")
    with pytest.raises(ManifestError, match="unknown split 'holdout'"):
        load_dataset(tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("label,path,group,split\ncat,img/x.png,g1,train\ndog,img/y.png,g2,test\n"
                                    "dog,img/z.png,g2,Validation\n")
    ds = load_dataset(tmp_path / "m.csv")
    assert ds.task == "image" and ds.y.tolist() == ["cat", "dog", "dog"]
    assert ds.split.tolist() == ["train", "test", "val"] and ds.groups.tolist() == ["g1", "g2", "g2"]


def test_manifest_header_must_name_path_and_target(tmp_path):
    (tmp_path / "m.csv").write_text("file_name,transcription\na.wav,hi\n")
    with pytest.raises(ManifestError, match="needs a 'path' column"):
        load_dataset(tmp_path / "m.csv")
    (tmp_path / "e.tsv").write_text("\n\n")
    with pytest.raises(ManifestError, match="empty manifest"):
        load_dataset(tmp_path / "e.tsv")


def test_manifest_where_every_row_is_bad(tmp_path):
    (tmp_path / "m.tsv").write_text("path\ttext\nnope.wav\thi\n")
    with pytest.raises(ManifestError, match=r"no usable items \(1 bad\)"):
        load_dataset(tmp_path / "m.tsv", on_error="skip")


# --- NeMo JSON lines ------------------------------------------------------------------------------


def test_jsonl_manifest(tmp_path):
    tone(tmp_path / "a.wav")
    tone(tmp_path / "b.wav")
    lines = [json.dumps({"audio_filepath": "a.wav", "text": "yes", "duration": 0.1}),
             "{not json",
             json.dumps({"audio_filepath": "b.wav", "text": "no", "speaker": 7}),
             json.dumps(["a list"]),
             json.dumps({"text": "no path"})]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match="not valid JSON") as err:
        load_dataset(tmp_path / "m.jsonl")
    assert err.value.source.endswith("m.jsonl:2")
    ds = load_dataset(tmp_path / "m.jsonl", on_error="skip")
    assert ds.y.tolist() == ["yes", "no"] and ds.groups[1] == "7"
    assert [r.split(": ", 1)[1] for _, r in ds.skipped] == [
        "not valid JSON: Expecting property name enclosed in double quotes at column 2", "expected a JSON object",
        "needs 'audio_filepath' (or 'path') and 'text' (or 'label')"]


# --- Kaldi data directories -----------------------------------------------------------------------


def kaldi_dir(root: Path) -> Path:
    data = root / "data" / "train"
    data.mkdir(parents=True)
    tone(root / "wav" / "u1.wav")
    tone(root / "wav" / "u2.wav")
    tone(data / "u3.wav")
    (data / "wav.scp").write_text(f"u1 {root / 'wav' / 'u1.wav'}\nu2 wav/u2.wav\nu3 u3.wav\n")
    (data / "text").write_text("u1 HELLO THERE\nu2 good bye\nu3 one\n")
    (data / "utt2spk").write_text("u1 spkA\nu2 spkB\nu3 spkA\n")
    return data


def test_kaldi_dir(tmp_path):
    data = kaldi_dir(tmp_path)
    ds = load_dataset(data)
    assert ds.y.tolist() == ["hello there", "good bye", "one"]
    assert ds.groups.tolist() == ["spkA", "spkB", "spkA"]
    assert Path(ds.X[1]).resolve() == (tmp_path / "wav" / "u2.wav").resolve()  # relative to the recipe folder


def test_kaldi_dir_bad_entries(tmp_path):
    data = kaldi_dir(tmp_path)
    (data / "wav.scp").write_text((data / "wav.scp").read_text() + "u4 sox x.flac -t wav - |\nu5 extra.wav\nu1 again.wav\n")
    (data / "text").write_text((data / "text").read_text() + "u4 four\nu6 orphan\n")
    with pytest.raises(ManifestError, match="listed twice"):
        load_dataset(data)
    ds = load_dataset(data, on_error="skip")
    assert len(ds) == 3
    reasons = " | ".join(r for _, r in ds.skipped)
    for expected in ("listed twice", "no audio in wav.scp", "piped commands", "no transcript in text"):
        assert expected in reasons
    (data / "segments").write_text("seg u1 0 1\n")
    with pytest.raises(ManifestError, match="segments"):
        load_dataset(data)


def test_kaldi_dir_without_utt2spk_gives_each_clip_its_group(tmp_path):
    data = kaldi_dir(tmp_path)
    (data / "utt2spk").unlink()
    ds = load_dataset(data)
    assert len(set(ds.groups)) == 3


# --- dispatch ----------------------------------------------------------------------------------------


def test_unknown_sources(tmp_path):
    with pytest.raises(DataError, match="built-ins: speech-digits"):
        load_dataset("no-such-dataset")
    (tmp_path / "x.parquet").write_text("")
    with pytest.raises(DataError, match="not a data set"):
        load_dataset(tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="on_error"):
        load_dataset(tmp_path, on_error="ignore")


def test_missing_split_is_named(tmp_path):
    picture(tmp_path / "a" / "0.png")
    with pytest.raises(DataError, match="has no 'test' split"):
        load_dataset(tmp_path, split="test")


def test_tsv_keeps_bare_quotes_and_knows_common_voice_columns(tmp_path):
    tone(tmp_path / "a.mp3.wav")
    (tmp_path / "cv.tsv").write_text('client_id\tpath\tsentence\tup_votes\nabc\ta.mp3.wav\t"Quoted," she said\t2\n')
    ds = load_dataset(tmp_path / "cv.tsv")
    assert ds.y.tolist() == ["quoted she said"] and ds.groups.tolist() == ["abc"]


# --- encodings, duplicates, speakers, paths -----------------------------------------------------


@pytest.mark.parametrize("name", ["text", "wav.scp", "utt2spk"])
def test_kaldi_file_that_is_not_utf8_names_file_and_line(tmp_path, name):
    data = kaldi_dir(tmp_path)
    lines = (data / name).read_bytes().split(b"\n")
    lines[2] = lines[2] + b" caf\xe9"  # Latin-1, as an old editor would save it
    (data / name).write_bytes(b"\n".join(lines))
    with pytest.raises(ManifestError, match=r"not UTF-8 at line 3, byte \d+") as err:
        load_dataset(data, on_error="skip")  # not a bad row that could be skipped: the file cannot be read
    assert err.value.source == str(data / name)


@pytest.mark.parametrize("suffix, header", [(".tsv", b"path\ttext\n"), (".csv", b"path,text\n"), (".jsonl", b"")])
def test_manifest_that_is_not_utf8_names_the_line(tmp_path, suffix, header):
    tone(tmp_path / "a.wav")
    row = b'{"audio_filepath": "a.wav", "text": "caf\xe9"}\n' if suffix == ".jsonl" else \
        b"a.wav" + (b"\t" if suffix == ".tsv" else b",") + b"caf\xe9\n"
    manifest = tmp_path / f"m{suffix}"
    manifest.write_bytes(b"\xef\xbb\xbf" + header + row)
    line, offset = (2 if header else 1), 3 + len(header) + row.index(0xE9)  # counted from the file's first byte
    with pytest.raises(ManifestError, match=f"not UTF-8 at line {line}, byte {offset}"):
        load_dataset(manifest)


def test_incomplete_utt2spk_is_an_error_or_skipped_and_counted(tmp_path):
    data = kaldi_dir(tmp_path)
    (data / "utt2spk").write_text("u2 spkB\n")
    with pytest.raises(ManifestError, match="2 utterance\\(s\\) of wav.scp have no speaker: u1, u3") as err:
        load_dataset(data)
    assert err.value.source == str(data / "utt2spk")
    ds = load_dataset(data, on_error="skip")
    assert ds.groups.tolist() == ["spkB"]
    assert [item for item, _ in ds.skipped] == ["u1", "u3"]
    assert all("has no speaker" in reason for _, reason in ds.skipped)


def test_duplicate_paths_are_an_error_or_skipped(tmp_path):
    tone(tmp_path / "a.wav")
    tone(tmp_path / "b.wav")
    (tmp_path / "m.tsv").write_text("path\ttext\na.wav\tyes\nb.wav\tno\n./a.wav\tyes\n")
    with pytest.raises(ManifestError, match=r"a.wav is listed twice \(first at .*m.tsv:2\)") as err:
        load_dataset(tmp_path / "m.tsv")
    assert err.value.source.endswith("m.tsv:4")
    ds = load_dataset(tmp_path / "m.tsv", on_error="skip")
    assert ds.y.tolist() == ["yes", "no"] and len(ds.skipped) == 1


def test_paths_outside_the_manifest_folder_are_allowed_and_missing_ones_named(tmp_path):
    tone(tmp_path / "clips" / "a.wav")
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "m.tsv").write_text(f"path\ttext\n../clips/a.wav\tyes\n{tmp_path / 'clips' / 'b.wav'}\tno\n")
    with pytest.raises(ManifestError, match=f"m.tsv:3: file not found: {tmp_path / 'clips' / 'b.wav'}"):
        load_dataset(tmp_path / "lists" / "m.tsv")
    (tmp_path / "lists" / "m.tsv").write_text("path\ttext\n../clips/a.wav\tyes\n../clips/gone.wav\tno\n")
    with pytest.raises(ManifestError, match=r"file not found: .*\.\./clips/gone.wav"):
        load_dataset(tmp_path / "lists" / "m.tsv")
    assert len(load_dataset(tmp_path / "lists" / "m.tsv", on_error="skip")) == 1


def test_jsonl_lines_no_json_parser_survives(tmp_path):
    tone(tmp_path / "a.wav")
    lines = ["[" * 100_000, '{"audio_filepath": "a.wav", "text": ' + "9" * 5000 + "}",
             '{"audio_filepath": "a.wav", "text": ["a", "list"]}', json.dumps({"audio_filepath": "a.wav", "text": "ok"})]
    (tmp_path / "m.jsonl").write_text("\n".join(lines))
    ds = load_dataset(tmp_path / "m.jsonl", on_error="skip")
    assert ds.y.tolist() == ["ok"]
    assert [r.split(": ", 1)[1] for _, r in ds.skipped] == [
        "not valid JSON: RecursionError", "not valid JSON: ValueError", "'text' must be a string, not list"]


def test_clip_too_short_for_its_transcript_is_refused_or_skipped(tmp_path):
    tone(tmp_path / "ok.wav", seconds=0.5)
    tone(tmp_path / "cut.wav", seconds=0.01)
    (tmp_path / "m.tsv").write_text("path\ttext\nok.wav\tyes\ncut.wav\tthe quick brown fox jumps over dogs\n")
    with pytest.raises(ManifestError, match=r"m.tsv:3: cut.wav: 0.01 s is too short for a 7-word transcript"):
        load_dataset(tmp_path / "m.tsv")
    ds = load_dataset(tmp_path / "m.tsv", on_error="skip")
    assert list(ds.y) == ["yes"] and len(ds.skipped) == 1 and "cut.wav" in ds.skipped[0][0]
