"""Streaming training clips from disk: lengths from headers, the decoded-clip cache, clips that fail
mid-epoch, clips over the length limit."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from e2elab.errors import AudioError, DataError, RunFolderError
from e2elab.nn.item_cache import ItemCache
from e2elab.nn.streaming import StreamedItems
from e2elab.speech.clip_stream import ClipFeed, ClipRef
from e2elab.speech.end_to_end import EndToEndSpeechRecognizer

from .test_end_to_end import RATE, TRANSCRIPTS, synthesise

pytestmark = pytest.mark.filterwarnings("ignore::e2elab.nn.schedule.SmallDataWarning")

WORKING_RATE = 8000  # files written at the working rate, so header lengths are exact


def tiny(**params) -> EndToEndSpeechRecognizer:
    settings = {"n_filters": 16, "width": 32, "depth": 1, "dropout": 0.0, "epochs": 60, "batch_size": 4, "lr": 1e-2,
                "augment": False, "decoder": "greedy", "device": "cpu", "progress": False, "seed": 0}
    return EndToEndSpeechRecognizer(**{**settings, **params})


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, text in enumerate(TRANSCRIPTS):
        paths.append(str(tmp_path / f"clip{i}.wav"))
        sf.write(paths[-1], synthesise(text, rng)[::RATE // WORKING_RATE], WORKING_RATE, subtype="FLOAT")
    return paths, list(TRANSCRIPTS)


def _truncate(path: str) -> None:
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])  # the header still says the full length


def test_streamed_clips_are_referenced_by_their_header_lengths_not_decoded(corpus, tmp_path):
    paths, _ = corpus
    model = tiny(cache_dir=str(tmp_path / "cache"))
    feed = ClipFeed(model, paths)
    clips, skipped = feed.read(paths, lambda item, i: str(item))
    assert feed.streaming and not skipped
    assert all(isinstance(clip, ClipRef) and isinstance(clip.source, str) for clip in clips)
    assert [len(clip) for clip in clips] == [len(sf.read(p)[0]) for p in paths]
    assert not ClipFeed(tiny(), paths).streaming  # a small corpus with no workers and no cache is decoded once


def test_a_streamed_fit_learns_what_the_in_memory_fit_learns_and_fills_the_cache(corpus, tmp_path):
    paths, y = corpus
    in_memory = tiny(epochs=3).fit(paths, y)
    streamed = tiny(epochs=3, cache_dir=str(tmp_path / "cache")).fit(paths, y)
    losses = [[row["train_loss"] for row in model.history_] for model in (in_memory, streamed)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == len(paths)
    assert streamed.predict(paths) == in_memory.predict(paths)


def test_a_clip_that_fails_to_decode_mid_epoch_is_raised_by_path_or_skipped_and_counted(corpus, tmp_path):
    paths, y = corpus
    _truncate(paths[3])
    with pytest.raises(DataError, match=r"clip3\.wav: .*truncated.*while training"):
        tiny(epochs=1, cache_dir=str(tmp_path / "cache")).fit(paths, y)
    model = tiny(epochs=2, on_error="skip", cache_dir=str(tmp_path / "cache")).fit(paths, y)
    assert model.n_skipped_ == 1 and model.skipped_[0][0] == paths[3]


def test_a_clip_over_max_seconds_is_refused_from_its_header_never_cut(corpus, tmp_path):
    paths, y = corpus
    long_clip = str(tmp_path / "long.wav")
    sf.write(long_clip, 0.1 * np.sin(np.arange(3 * WORKING_RATE) / 3.0), WORKING_RATE)
    with pytest.raises(AudioError, match=r"long\.wav: clip is 3\.0 s long, over the limit of 2 s"):
        tiny(epochs=1, max_seconds=2.0, num_workers=0, cache_dir=str(tmp_path / "cache")).fit([*paths, long_clip], [*y, "go"])


def test_a_damaged_cache_entry_is_rebuilt(corpus, tmp_path, caplog):
    paths, _ = corpus
    cache = ItemCache(tmp_path / "cache", {"rate": WORKING_RATE})
    first = cache.get(paths[0], lambda: sf.read(paths[0], dtype="float32")[0])
    entry = cache.entry_path(paths[0])
    entry.write_bytes(entry.read_bytes()[:-100])  # cut short, as by a copy that stopped
    with caplog.at_level(logging.WARNING):
        again = cache.get(paths[0], lambda: sf.read(paths[0], dtype="float32")[0])
    assert "cache entry is damaged" in caplog.text
    np.testing.assert_array_equal(first, again)
    assert cache.get(paths[0], lambda: pytest.fail("a whole entry must be read, not rebuilt")).shape == first.shape


def test_concurrent_writers_of_one_cache_leave_whole_entries(corpus, tmp_path):
    paths, _ = corpus
    cache = ItemCache(tmp_path / "cache", {"rate": WORKING_RATE})
    results = []

    def read_all():
        results.append([cache.get(p, lambda p=p: sf.read(p, dtype="float32")[0]) for p in paths])

    threads = [threading.Thread(target=read_all) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got in results[1:]:
        for a, b in zip(results[0], got):
            np.testing.assert_array_equal(a, b)
    assert sorted(f.suffix for f in (tmp_path / "cache").iterdir()) == [".npy"] * len(paths)  # no temporary left


def test_a_cache_folder_that_cannot_be_written_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(RunFolderError, match="cannot create the cache folder"):
        ItemCache(blocker / "cache", {})
    monkeypatch.setattr("e2elab.nn.item_cache.os.access", lambda *_: False)  # a read-only mount, even for root
    with pytest.raises(RunFolderError, match=r"cache.*read-only"):
        ItemCache(tmp_path / "cache", {})


def test_streamed_items_return_decoded_clips_in_loader_workers(corpus, tmp_path):
    import torch

    paths, _ = corpus
    feed = ClipFeed(tiny(num_workers=2), paths)
    train_data, _, sampler = feed.datasets(*_refs(feed, paths), np.arange(len(paths)), np.array([], dtype=int))
    assert isinstance(train_data, StreamedItems)
    loader = torch.utils.data.DataLoader(train_data, batch_sampler=sampler(0), num_workers=2,
                                         collate_fn=feed.collate(lambda pairs: [len(w) for w, _ in pairs]))
    lengths = sorted(n for batch, unreadable in loader for n in batch)
    assert lengths == sorted(len(sf.read(p)[0]) for p in paths)


def _refs(feed, paths):
    clips, _ = feed.read(paths, lambda item, i: str(item))
    return clips, [[1]] * len(clips)
