"""Manifest readers on arbitrary bytes: a Dataset or a ManifestError, never another exception."""

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from e2elab.data.dataset import Dataset
from e2elab.data.sources import load_dataset
from e2elab.errors import ManifestError

# Plausible lines mixed with arbitrary bytes, so that examples reach the row checks, not only the decoder.
LINES = st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b"path\ttext\tspeaker", b"path,label,split", b"a.wav\tyes\ts1", b"a.wav,cat,train", b"a.wav,dog,test",
                     b'{"audio_filepath": "a.wav", "text": "yes"}', b"u1 a.wav", b"u1 yes", b"u1 spk", b"../a.wav\tno",
                     b"\xef\xbb\xbf", b"\xff\xfe", b'"unclosed, quote', b"\x00"]),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
CONTENT = st.lists(LINES, max_size=8).map(b"\n".join)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def folder(tmp_path):
    sf.write(tmp_path / "a.wav", 0.3 * np.sin(np.arange(1600) / 5.0), 16000)
    return tmp_path


def assert_dataset_or_manifest_error(source, on_error):
    try:
        ds = load_dataset(source, on_error=on_error)
    except ManifestError:
        return
    assert isinstance(ds, Dataset) and len(ds) > 0


@SETTINGS
@given(content=CONTENT, suffix=st.sampled_from([".tsv", ".csv", ".jsonl"]), on_error=st.sampled_from(["raise", "skip"]))
def test_table_and_jsonl_manifests(folder, content, suffix, on_error):
    manifest = folder / f"m{suffix}"
    manifest.write_bytes(content)
    assert_dataset_or_manifest_error(manifest, on_error)


@SETTINGS
@given(files=st.fixed_dictionaries({"wav.scp": CONTENT, "text": CONTENT, "utt2spk": CONTENT}),
       on_error=st.sampled_from(["raise", "skip"]))
def test_kaldi_directories(folder, files, on_error):
    kaldi = folder / "kaldi"
    kaldi.mkdir(exist_ok=True)
    for name, content in files.items():
        (kaldi / name).write_bytes(content)
    assert_dataset_or_manifest_error(kaldi, on_error)
