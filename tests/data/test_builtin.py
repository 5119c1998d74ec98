"""Built-in data sets: lookup order, readers on small fixtures, download into the cache, real data."""

import dataclasses
import gzip
import hashlib
import io
import zipfile

import numpy as np
import pytest
import soundfile as sf

import e2elab
from e2elab.data.builtins import BUILTINS, ensure_builtin, load_builtin
from e2elab.data.builtins.fsdd import keep_recording
from e2elab.data.dataset import Dataset
from e2elab.data.download import RemoteFile
from e2elab.errors import DataError, ManifestError, ParameterError
from e2elab.tasks import task_names
from e2elab.synth import speech_digits


def write_usps(folder, rows_train, rows_test):
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("zip.train.gz", rows_train), ("zip.test.gz", rows_test)):
        with gzip.open(folder / name, "wt") as handle:
            for label, values in rows:
                handle.write(f"{label:.4f} " + " ".join(f"{v:.4f}" for v in values) + "\n")


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


def test_digits_is_bundled_uint8_without_split():
    ds = e2elab.load_dataset("digits")
    assert ds.task == "image" and ds.X.shape == (1797, 8, 8) and ds.X.dtype == np.uint8
    assert ds.X.max() == 255 and ds.X.min() == 0
    assert ds.classes == [str(d) for d in range(10)]
    assert ds.split is None and len(np.unique(ds.groups)) == 1


def test_usps_reader_on_a_fixture(tmp_path, monkeypatch):
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(tmp_path))
    black, white = [-1.0] * 256, [1.0] * 256
    write_usps(tmp_path / "usps", [(3, black), (7, white)], [(0, [0.0] * 256)])
    ds = e2elab.load_dataset("usps")
    assert ds.X.shape == (3, 16, 16) and ds.X.dtype == np.uint8
    assert ds.y.tolist() == ["3", "7", "0"] and ds.split.tolist() == ["train", "train", "test"]
    assert ds.X[0].max() == 0 and ds.X[1].min() == 255 and ds.X[2][0, 0] == 128
    test = e2elab.load_dataset("usps", split="test")
    assert len(test) == 1 and test.y[0] == "0"


def test_usps_bad_line_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(tmp_path))
    write_usps(tmp_path / "usps", [(3, [0.0] * 256), (4, [0.0] * 200)], [(0, [0.0] * 256)])
    with pytest.raises(ManifestError, match="found 201 fields") as err:
        e2elab.load_dataset("usps")
    assert err.value.source.endswith("zip.train.gz:2")


def test_mnist_reader_on_idx_fixtures(tmp_path, monkeypatch):
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(tmp_path))
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28))
    write_idx(folder / "train-images-idx3-ubyte.gz", images[:3])
    write_idx(folder / "train-labels-idx1-ubyte.gz", [0, 9, 1])
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images[3:])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", [5, 5])
    ds = e2elab.load_dataset("fashion-mnist")
    assert np.array_equal(ds.X, images.astype(np.uint8))
    assert ds.y.tolist() == ["T-shirt/top", "Ankle boot", "Trouser", "Sandal", "Sandal"]
    assert ds.split.tolist() == ["train"] * 3 + ["test"] * 2
    # A truncated file is refused, naming it.
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz", "rb") as handle:
        data = handle.read()
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(data[:-10])
    with pytest.raises(ManifestError, match="truncated"):
        e2elab.load_dataset("fashion-mnist")


def test_fsdd_reader_on_a_fixture(tmp_path, monkeypatch):
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(tmp_path))
    recordings = tmp_path / "fsdd" / "recordings"
    recordings.mkdir(parents=True)
    tone = 0.3 * np.sin(np.arange(800) / 3.0)
    for name in ("0_george_0.wav", "7_theo_12.wav", "7_george_3.wav", "bad-name.wav"):
        sf.write(recordings / name, tone, 8000)
    ds = e2elab.load_dataset("fsdd")
    assert ds.task == "speech" and len(ds) == 3
    assert sorted(zip(ds.groups, ds.y)) == [("george", "seven"), ("george", "zero"), ("theo", "seven")]
    assert ds.skipped[0][0].endswith("bad-name.wav")


def test_data_dir_is_searched_before_the_cache(tmp_path, monkeypatch):
    data_dir, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("E2ELAB_CACHE_DIR", str(cache))
    write_usps(cache / "usps", [(1, [0.0] * 256)], [(2, [0.0] * 256)])
    assert ensure_builtin("usps") == cache / "usps"
    write_usps(data_dir / "usps", [(1, [0.0] * 256)], [(2, [0.0] * 256)])
    assert ensure_builtin("usps") == data_dir / "usps"
    status = BUILTINS["usps"].status()
    assert status["present"] and status["where"] == str(data_dir / "usps") and status["checksums"] == "verified"


def test_missing_builtins(tmp_path, monkeypatch):
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="cannot be downloaded"):
        e2elab.load_dataset("flowers5")
    with pytest.raises(DataError, match="downloading is off"):
        e2elab.load_dataset("mnist", download=False)
    assert not BUILTINS["mnist"].status()["present"]
    with pytest.raises(ParameterError, match="'digits' takes no option"):
        e2elab.load_dataset("digits", seed=3)


def test_missing_builtin_is_downloaded_into_the_cache(tmp_path, monkeypatch):
    """The download path end to end, from a file:// mirror standing in for the real server."""
    served = tmp_path / "served"
    write_usps(served, [(4, [0.5] * 256)], [(8, [-0.5] * 256)])
    files = tuple(RemoteFile(name, ((served / name).as_uri(),), sha256=hashlib.sha256((served / name).read_bytes()).hexdigest())
                  for name in ("zip.train.gz", "zip.test.gz"))
    monkeypatch.setitem(BUILTINS, "usps", dataclasses.replace(BUILTINS["usps"], files=files))
    cache = tmp_path / "cache"
    monkeypatch.setenv("E2ELAB_CACHE_DIR", str(cache))
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(tmp_path / "empty"))
    ds = e2elab.load_dataset("usps")
    assert ds.y.tolist() == ["4", "8"] and (cache / "usps" / "zip.train.gz").exists()
    # A wrong published digest refuses the file.
    bad = (dataclasses.replace(files[0], sha256="0" * 64), files[1])
    monkeypatch.setitem(BUILTINS, "usps", dataclasses.replace(BUILTINS["usps"], files=bad))
    monkeypatch.setenv("E2ELAB_CACHE_DIR", str(tmp_path / "cache2"))
    with pytest.raises(DataError, match="checksum mismatch"):
        e2elab.load_dataset("usps")
    assert not (tmp_path / "cache2" / "usps" / "zip.train.gz").exists()


def test_fsdd_archive_is_unpacked_to_its_recordings(tmp_path, monkeypatch):
    served = tmp_path / "served.zip"
    tone = io.BytesIO()
    sf.write(tone, 0.3 * np.sin(np.arange(800) / 3.0), 8000, format="WAV")
    with zipfile.ZipFile(served, "w") as archive:
        archive.writestr("repo-x/recordings/3_ann_0.wav", tone.getvalue())
        archive.writestr("repo-x/README.md", "not a recording")
    files = (RemoteFile("fsdd.zip", (served.as_uri(),)),)
    monkeypatch.setitem(BUILTINS, "fsdd", dataclasses.replace(BUILTINS["fsdd"], files=files))
    cache = tmp_path / "cache"
    monkeypatch.setenv("E2ELAB_CACHE_DIR", str(cache))
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(tmp_path / "empty"))
    ds = e2elab.load_dataset("fsdd")
    assert ds.y == ["three"] and ds.groups == ["ann"] and ds.name == "fsdd"
    assert sorted(p.relative_to(cache / "fsdd").as_posix() for p in (cache / "fsdd").rglob("*") if p.is_file()) == [
        "recordings/3_ann_0.wav"]
    assert not list((cache / ".downloads").glob("*.zip"))


def test_speech_digits_comes_from_the_synthetic_corpus(monkeypatch):
    calls = []

    def load_speech_digits(seed=0, size="default"):
        calls.append((seed, size))
        return Dataset(X=["a.wav"], y=["one"], task="speech", groups=["voice1"])

    monkeypatch.setattr(speech_digits, "load_speech_digits", load_speech_digits)
    ds = load_builtin("speech-digits", seed=4, size="small")
    assert calls == [(4, "small")] and ds.name == "speech-digits"
    assert BUILTINS["speech-digits"].status()["present"]


def test_registry_is_complete_and_never_invents_digests():
    assert {"speech-digits", "fsdd", "digits", "usps", "mnist", "fashion-mnist", "flowers5", "multi30k", "facemask"} <= set(BUILTINS)
    for b in BUILTINS.values():
        assert b.task in task_names() and b.licence and b.description
        for remote in b.files:
            assert all(u.startswith(("https://", "http://")) for u in remote.urls)
            assert remote.sha256 is None or len(remote.sha256) == 64
            assert remote.md5 is None or len(remote.md5) == 32
    assert keep_recording("repo-x/recordings/1_a_2.wav") == "recordings/1_a_2.wav"
    assert keep_recording("repo-x/utils/x.py") is None


def test_real_fsdd(shared_data):
    shared_data("fsdd")
    ds = e2elab.load_dataset("fsdd")
    assert len(ds) == 3000 and len(set(ds.groups)) == 6 and len(ds.vocabulary) == 10
    assert not ds.skipped


def test_real_usps(shared_data):
    folder = shared_data("usps")
    ds = e2elab.load_dataset("usps")
    assert ds.X.shape == (9298, 16, 16)
    assert np.sum(ds.split == "train") == 7291 and np.sum(ds.split == "test") == 2007
    test = e2elab.load_dataset("usps", split="test")
    assert np.bincount(test.y.astype(int)).tolist() == [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]
    # The shipped digests are those of the real files.
    for remote in BUILTINS["usps"].files:
        assert hashlib.sha256((folder / remote.filename).read_bytes()).hexdigest() == remote.sha256


def test_real_flowers5(shared_data):
    shared_data("flowers5")
    ds = e2elab.load_dataset("flowers5")
    assert len(ds) == 4317 and ds.classes == ["daisy", "dandelion", "rose", "sunflower", "tulip"]


def test_usps_non_numeric_value_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(tmp_path))
    write_usps(tmp_path / "usps", [(3, [0.0] * 256)], [(0, [0.0] * 256)])
    with gzip.open(tmp_path / "usps" / "zip.test.gz", "wt") as handle:
        handle.write("1 " + " ".join(["0.5"] * 255) + " x\n")
    with pytest.raises(ManifestError, match="non-numeric") as err:
        e2elab.load_dataset("usps")
    assert err.value.source.endswith("zip.test.gz:1")
