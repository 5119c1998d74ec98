"""The report renders from a small fixture run folder, has every section, and is self-contained valid HTML."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from e2elab.report.html import SECTIONS, build_report

VOID = {"meta", "img", "br", "hr", "input", "link", "source", "col", "area", "base", "wbr"}


class StrictParser(HTMLParser):
    """Checks that every element is closed in order and collects every link target."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.targets, self.ids = [], [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.targets += [attrs[k] for k in ("src", "href") if k in attrs]
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


@pytest.fixture
def run_folder(tmp_path):
    speech = tmp_path / "speech"
    (speech / "compare").mkdir(parents=True)
    (speech / "compare" / "results.json").write_text(json.dumps({
        "task": "speech", "data": "speech-digits", "split": {"kind": "group", "folds": 2}, "metric": "wer",
        "lower_is_better": True, "pipelines": {
            "end-to-end": {"metric": {"mean": 0.05, "ci95": [0.03, 0.07], "runs": [0.04, 0.06]}, "train_seconds": 12.0,
                           "predict_seconds_per_item": 0.002, "n_parameters": 250000, "model_bytes": 1000000},
            "traditional": {"metric": {"mean": 0.08, "ci95": [0.05, 0.11], "runs": [0.07, 0.09]}, "train_seconds": 30.0,
                            "predict_seconds_per_item": 0.01, "n_parameters": 50000, "model_bytes": 200000}}}))
    image = tmp_path / "image"
    (image / "curve").mkdir(parents=True)
    (image / "curve" / "curve.json").write_text(json.dumps({
        "task": "image", "data": "digits", "metric": "error", "pipelines": {
            kind: {"points": [{"n": n, "mean": a + b * n ** -0.5, "ci95": [a + b * n ** -0.5 - 0.01, a + b * n ** -0.5 + 0.01], "runs": []}
                              for n in (50, 100, 200, 400)],
                   "law": {"form": "a + b * n**-c", "a": a, "b": b, "c": 0.5},
                   "extrapolation_check": {"n": 400, "predicted": a + b / 20, "observed": a + b / 20 + 0.002}}
            for kind, a, b in (("end-to-end", 0.01, 2.0), ("traditional", 0.05, 0.8))},
        "crossover": {"n": 190, "ci95": [120, 300]}, "target": {"error": 0.05, "n_needed": {"end-to-end": 2500, "traditional": None}}}))
    (image / "compare").mkdir()
    (image / "compare" / "confusion_end-to-end.json").write_text(json.dumps({
        "task": "image", "pipeline": "end-to-end", "labels": ["0", "1"], "matrix": [[9, 1], [0, 10]]}))
    (speech / "compare" / "confusion_traditional.json").write_text(json.dumps({
        "task": "speech", "pipeline": "traditional", "counts": {"one": {"one": 9, "nine": 1}, "two": {"two": 10, "<del>": 1},
                                                                "<ins>": {"oh": 2}}}))
    explain = image / "explain"
    explain.mkdir()
    fig, ax = plt.subplots()
    ax.imshow(np.eye(8))
    fig.savefig(explain / "item0_ig.png")
    plt.close(fig)
    (explain / "explanations.json").write_text(json.dumps({"explanations": [{
        "input": "item0", "method": "integrated_gradients", "prediction": "3", "probability": 0.9, "png": "item0_ig.png",
        "scores": {"deletion_auc": 0.2, "deletion_auc_random": 0.5, "insertion_auc": 0.8, "insertion_auc_random": 0.5,
                   "randomisation_spearman": 0.1, "trustworthy": True}}]}))
    (image / "model-run").mkdir()
    (image / "model-run" / "metrics.jsonl").write_text("\n".join(json.dumps({"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_error": 0.5 / e}) for e in range(1, 5)))
    (tmp_path / "run.json").write_text(json.dumps({"commands": ["e2elab demo --quick"], "seconds": 42.0}))
    return tmp_path


def test_report_has_every_section_and_is_self_contained(run_folder):
    path = build_report(run_folder)
    page = path.read_text()
    parser = StrictParser()
    parser.feed(page)
    assert parser.errors == []
    assert parser.stack == []
    assert set(SECTIONS) <= parser.ids
    assert all(t.startswith(("data:", "#")) for t in parser.targets), [t for t in parser.targets if not t.startswith(("data:", "#"))]
    assert "http://" not in page and "https://" not in page
    # The numbers of the fixture reach the page.
    assert "5.00%" in page and "8.00%" in page
    assert "crossover" in page and "190" in page
    assert "passes sanity check" in page
    assert page.count('alt="confusion matrix"') == 2
    assert "e2elab demo --quick" in page


def test_report_of_empty_folder_says_so(tmp_path):
    page = build_report(tmp_path).read_text()
    assert "Nothing of this kind" in page


def test_curve_of_one_seed_with_a_perfect_score_is_drawn():
    from e2elab.report.figures import curve_uri

    curve = {"task": "speech", "metric": "wer", "pipelines": {
        "end-to-end": {"points": [{"n": 1, "mean": 0.4, "ci95": None, "runs": [0.4]},
                                  {"n": 3, "mean": 0.0, "ci95": None, "runs": [0.0]}], "law": None},
        "traditional": {"points": [{"n": 1, "mean": None, "ci95": None, "runs": []}], "law": None}}}
    assert curve_uri(curve).startswith("data:image/png;base64,")
