"""The task registry: look-ups, refusals, and the layers that read it."""

from __future__ import annotations

import numpy as np
import pytest

from e2elab import registry
from e2elab.data.dataset import Dataset
from e2elab.errors import DataError, ParameterError
from e2elab.tasks import ReportSection, Task, get_task, register_task, task_names, unregister_task


def _task(name="toy", **changes) -> Task:
    fields = dict(name=name, item_kind="signal", target_kind="class", metric="error", error_name="error rate",
                  extensions=(".npy",), read_item=np.asarray, readers={"folder": "e2elab.data.folders:load_folder"},
                  pipelines={}, scores="e2elab.experiments.cells:class_scores",
                  report=ReportSection(confusion="e2elab.report.confusion:class_confusion", size_label="training items"))
    return Task(**{**fields, **changes})


@pytest.fixture
def toy():
    task = register_task(_task())
    yield task
    unregister_task(task.name)


def test_the_built_in_tasks_are_speech_then_image():
    assert task_names()[:2] == ["speech", "image"]
    speech, image = get_task("speech"), get_task("image")
    assert (speech.metric, speech.holdout, speech.curve_unit, speech.item_kind) == ("wer", "groups", "groups", "audio")
    assert (image.metric, image.holdout, image.curve_unit, image.item_kind) == ("error", "classes", "items", "image")
    assert ".wav" in speech.file_extensions and ".png" in image.file_extensions
    assert image.error_from_score(0.9) == pytest.approx(0.1)


def test_an_unknown_task_is_refused_naming_the_known_ones():
    with pytest.raises(ParameterError, match="unknown task 'video'.*speech, image"):
        get_task("video")
    with pytest.raises(ParameterError, match="unknown task"):
        registry.register_pipeline("video", "end-to-end")
    with pytest.raises(ParameterError, match="unknown task"):
        Dataset(X=[np.zeros(3)], y=["a"], task="video")


def test_a_task_is_an_immutable_value(toy):
    with pytest.raises(AttributeError):
        toy.metric = "wer"
    with pytest.raises(TypeError):
        toy.readers["table"] = "e2elab.data.manifests:load_table_manifest"
    register_task(_task())  # the same declaration again is harmless
    with pytest.raises(ParameterError, match="already registered"):
        register_task(_task(metric="wer"))


def test_bad_declarations_are_refused():
    with pytest.raises(ParameterError, match="holdout"):
        _task(holdout="speakers")
    with pytest.raises(ParameterError, match="source layout"):
        _task(readers={"zip": "somewhere:read"})


def test_a_layout_the_task_has_no_reader_for_is_named(toy, tmp_path):
    manifest = tmp_path / "items.tsv"
    manifest.write_text("path\tlabel\n")
    with pytest.raises(DataError, match="cannot be read from a table.*folder"):
        toy.read_source(manifest)


def test_the_dataset_follows_the_task_holdout(toy):
    items = [np.zeros(3)] * 3
    assert len(set(Dataset(X=items, y=["a", "b", "a"], task="toy").groups)) == 1
    assert len(set(Dataset(X=items, y=["one", "two", "one"], task="speech").groups)) == 3  # each clip its own speaker
    assert Dataset(X=items, y=["a", "b", "a"], task="toy").counts() == {"a": 2, "b": 1}
