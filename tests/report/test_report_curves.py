"""The report's learning curves: every entry on one plot, how well each law fits, a failed
extrapolation flagged, the measured crossover beside the fitted one, and each remedy's saving."""

from __future__ import annotations

import json

from e2elab.report.figures import curve_uri
from e2elab.report.html import build_report


def entry(kind, params, means, check=None, r2=0.98, pretraining=None):
    return {"kind": kind, "params": params,
            "points": [{"n": n, "mean": m, "ci95": [m * 0.9, m * 1.1], "runs": [m], "train_seconds": 2.0}
                       for n, m in zip((54, 135, 337, 540, 1347), means)],
            "law": {"form": "a + b * n**-c", "a": 0.0, "b": 2.0, "c": 0.5},
            "fit": {"r2_log": r2, "residuals_log": [0.0] * 5, "max_factor": 1.2, "n_sizes": 5, "too_few_points": False},
            "extrapolation_check": check, "pretraining": pretraining}


CURVE = {
    "task": "image", "data": "flowers5", "metric": "error", "unit": "items", "sizes": [54, 135, 337, 540, 1347],
    "pipelines": {
        "traditional": entry("traditional", {}, [0.3, 0.25, 0.2, 0.18, 0.17]),
        "end-to-end": entry("end-to-end", {}, [0.5, 0.4, 0.3, 0.2, 0.0044], r2=0.41, check={
            "n": 1347, "predicted": 0.054, "observed": 0.0044, "predicted_ci95": [0.04, 0.07], "failed": True,
            "why": "predicted 0.054 against 0.0044 observed, a factor 12.3 (over 2)"}),
        "end-to-end:init_from=runs/pre/model": entry("end-to-end", {"init_from": "runs/pre/model"}, [0.2, 0.1, 0.05, 0.03, 0.004],
                                                     pretraining={"seconds": 1800.0, "record": "runs/pre/train.json"}),
    },
    "crossover": None, "crossover_observed": {"between": [540, 1347], "n": 860.0},
    "crossover_explanation": "the measured means cross between n = 540 and 1347 (about 860); the fitted laws do not cross "
                             "in the measured range, nor up to n = 1.3e7: the end-to-end law stays above the traditional one",
    "target": {"error": 0.0044, "chosen": "the error of end-to-end with the most data (n = 1347)",
               "n_needed": {"traditional": None, "end-to-end": 1347.0, "end-to-end:init_from=runs/pre/model": 250.0},
               "n_needed_measured": {"traditional": None, "end-to-end": 1347.0, "end-to-end:init_from=runs/pre/model": 1200.0}},
    "remedies": {"end-to-end:init_from=runs/pre/model": {
        "baseline": "end-to-end", "n_needed": 250.0, "n_needed_measured": 1200.0, "saving_factor": 5.39,
        "saving_factor_ci95": [3.1, 8.0], "saving_factor_measured": 1.12, "pretraining_seconds": 1800.0,
        "fine_tuning_seconds": 2.0, "baseline_train_seconds": 2.0}},
    "warnings": ["end-to-end: extrapolation check failed at n = 1347: predicted 0.054 against 0.0044 observed"],
}


def test_the_report_flags_bad_fits_and_shows_the_measured_crossover_and_the_savings(tmp_path):
    (tmp_path / "curve.json").write_text(json.dumps(CURVE))
    page = build_report(tmp_path).read_text()
    assert "no crossover" not in page
    assert "the measured means cross between n = 540 and 1347" in page
    assert "R&sup2; in log space 0.41" in page
    assert 'class="warn">failed: predicted 0.054 against 0.0044 observed' in page
    assert "extrapolation check failed at n = 1347" in page  # the warnings, listed under the plot
    assert "5.39&times; (3.1 &ndash; 8)" in page and "1.12&times;" in page  # the remedy's saving: law and measured
    assert "1.8e+03 s" in page  # pretraining, apart from the fine-tuning time
    assert "the error of end-to-end with the most data" in page


def test_every_entry_is_drawn_on_one_plot(monkeypatch):
    import matplotlib.pyplot as plt

    drawn, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda fig: (drawn.append(fig), close(fig)))  # keep the figure to look into it
    assert curve_uri(CURVE).startswith("data:image/png;base64,")
    labels = [text.get_text() for text in drawn[0].axes[0].get_legend().get_texts()]
    for label in CURVE["pipelines"]:
        assert label in labels
    assert "end-to-end: law without largest n (failed)" in labels
    assert any(label.startswith("measured crossover") for label in labels)
