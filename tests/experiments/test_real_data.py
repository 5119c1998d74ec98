"""The experiments on the real development data with the real pipelines (slow: minutes)."""

import pytest

from e2elab.experiments import compare, curve
from e2elab.experiments.schemas import curve_schema, results_schema, validate

pytestmark = pytest.mark.slow


def test_usps_traditional_curve_falls_and_its_law_extrapolates(shared_data, tmp_path):
    shared_data("usps")
    summary = curve("image", "usps", tmp_path, pipelines=["traditional"], sizes=[50, 100, 200, 400, 800], seeds=[0, 1],
                    n_boot=100, progress=False)
    validate(summary, curve_schema())
    points = summary["pipelines"]["traditional"]["points"]
    assert points[-1]["mean"] < points[0]["mean"]
    check = summary["pipelines"]["traditional"]["extrapolation_check"]
    assert abs(check["predicted"] - check["observed"]) < 0.5 * check["observed"]


def test_usps_compare_both_pipelines(shared_data, tmp_path):
    shared_data("usps")
    summary = compare("image", "usps", tmp_path, seeds=[0], params={"end-to-end": {"epochs": 6, "input_size": 16}},
                      progress=False)
    validate(summary, results_schema())
    for entry in summary["pipelines"].values():
        assert entry["metric"]["mean"] < 0.2
