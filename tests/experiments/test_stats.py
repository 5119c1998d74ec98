import numpy as np
import pytest
from scipy import stats

from e2elab.experiments.stats import mean_ci, paired_test


def test_mean_ci_is_t_based():
    values = [0.1, 0.2, 0.3, 0.4]
    summary = mean_ci(values)
    half = stats.t.ppf(0.975, 3) * np.std(values, ddof=1) / 2
    assert summary["mean"] == pytest.approx(0.25)
    assert summary["ci95"] == pytest.approx([0.25 - half, 0.25 + half])
    assert summary["runs"] == values


def test_mean_ci_of_one_run_has_no_interval():
    assert mean_ci([0.3]) == {"mean": 0.3, "ci95": None, "runs": [0.3]}


def test_paired_test_detects_a_consistent_difference():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.1, 0.3, 12)
    a = b + 0.05 + 0.005 * rng.standard_normal(12)
    result = paired_test(a, b, ("end-to-end", "traditional"))
    assert result["n_pairs"] == 12
    assert result["mean_difference"] == pytest.approx(0.05, abs=0.005)
    assert result["p_t"] < 0.001 and result["p_wilcoxon"] < 0.01
    assert result["ci95"][0] > 0


def test_paired_test_finds_nothing_in_noise():
    rng = np.random.default_rng(1)
    b = rng.uniform(0.1, 0.3, 10)
    a = b + 0.01 * rng.standard_normal(10)
    assert paired_test(a, b)["p_t"] > 0.05


def test_paired_test_with_identical_runs():
    result = paired_test([0.1, 0.2], [0.1, 0.2])
    assert result["mean_difference"] == 0 and result["p_t"] is None and result["p_wilcoxon"] is None


def test_paired_test_needs_matched_runs():
    with pytest.raises(ValueError, match="matched"):
        paired_test([0.1, 0.2], [0.1])


def test_interval_of_an_error_rate_stays_above_zero():
    summary = mean_ci([0.0, 0.02, 0.3], bounds=(0.0, None))
    assert summary["ci95"][0] == 0.0 and summary["ci95"][1] > summary["mean"]
