"""Honest curves on hand-made points: goodness of fit, the extrapolation flag, the crossover measured
between the points beside the fitted one, and the data a remedy saves."""

import numpy as np
import pytest

from e2elab.experiments import laws
from e2elab.experiments.curve_summary import crossing, remedies, summarise_entry, target_sizes, warnings_of
from e2elab.experiments.entries import PipelineEntry

SIZES = [50, 100, 200, 400, 800, 1600]


def runs_of(means, sizes=SIZES, seeds=3, noise=0.002, seed=0):
    """[(n, cell result)] with `seeds` runs scattered around each mean, as curve cells record them."""
    rng = np.random.default_rng(seed)
    return [(n, {"metric": float(max(m + noise * rng.standard_normal(), 0.0)), "n_train": n, "train_seconds": 1.0})
            for n, m in zip(sizes, means) for _ in range(seeds)]


def power_law(a, b, c, sizes=SIZES):
    return [a + b * n ** -c for n in sizes]


# The shape of the demo's image curve: the end-to-end error falls slowly, then drops by a factor of
# twenty at the largest size, so that a law refitted without that size mispredicts it badly; the
# measured means cross the traditional ones between the last two sizes.
BENDING = [0.5, 0.4, 0.32, 0.25, 0.2, 0.01]
FLAT = [0.3, 0.25, 0.22, 0.2, 0.18, 0.17]


def test_a_law_that_follows_the_points_fits_well_and_extrapolates():
    entry, _ = summarise_entry(PipelineEntry("end-to-end", "end-to-end"), runs_of(power_law(0.02, 2.0, 0.5)), SIZES, 50, 500)
    assert entry["fit"]["r2_log"] > 0.99 and entry["fit"]["max_factor"] < 1.1
    assert entry["fit"]["too_few_points"] is False
    assert entry["extrapolation_check"]["failed"] is False and entry["extrapolation_check"]["why"] is None


def test_a_bending_curve_is_flagged_by_its_fit_and_its_extrapolation_check():
    entry, _ = summarise_entry(PipelineEntry("end-to-end", "end-to-end"), runs_of(BENDING), SIZES, 50, 500)
    fit, check = entry["fit"], entry["extrapolation_check"]
    assert fit["r2_log"] < 0.9 and fit["max_factor"] > 1.5
    assert len(fit["residuals_log"]) == len(SIZES)
    assert check["failed"] is True
    assert check["predicted"] > 5 * check["observed"]
    assert "factor" in check["why"] and "outside the predicted interval" in check["why"]
    summary = {"seeds": [0, 1, 2], "pipelines": {"end-to-end": entry}}
    assert any("extrapolation check failed at n = 1600" in text for text in warnings_of(summary))


def test_extrapolation_within_the_interval_but_off_by_a_large_factor_fails():
    n = np.repeat([10.0, 20, 40, 80, 160], 3)
    error = 0.5 * n ** -0.5
    error[n == 160] = 0.018  # the law predicts about 0.04: over twice that, but within what 100 test items can tell
    check = laws.extrapolation_check(n, error, n_boot=20, test_items=100)
    assert check["failed"] and f"(over {laws.EXTRAPOLATION_FACTOR:g})" in check["why"]
    assert "outside" not in check["why"]
    # on 5000 test items the same miss is outside the interval too
    assert "outside the predicted interval" in laws.extrapolation_check(n, error, n_boot=20, test_items=5000)["why"]
    # and a miss of a third is no failure on 100 items
    error[n == 160] = 0.03
    assert not laws.extrapolation_check(n, error, n_boot=20, test_items=100)["failed"]


def test_the_measured_crossover_is_given_beside_the_fitted_one():
    e2e, e2e_boot = summarise_entry(PipelineEntry("end-to-end", "end-to-end"), runs_of(BENDING), SIZES, 30, 500)
    trad, trad_boot = summarise_entry(PipelineEntry("traditional", "traditional"), runs_of(FLAT, seed=1), SIZES, 30, 500)
    found = crossing(e2e, trad, e2e_boot, trad_boot, SIZES)
    assert found["observed"]["between"] == [800.0, 1600.0]
    assert 800 < found["observed"]["n"] < 1600
    assert "the measured means cross between n = 800 and 1600" in found["explanation"]
    assert "no crossover" not in found["explanation"]


def test_measured_crossings_interpolate_in_log_n_and_see_every_change_of_order():
    # the difference goes 0.1 -> -0.1 between 100 and 400: halfway in log n is 200
    changes = laws.measured_crossings([100, 400, 1600, 6400], [0.3, 0.1, 0.2, 0.05], [0.2, 0.2, 0.1, 0.1])
    assert [c["end_to_end"] for c in changes] == ["below", "above", "below"]
    assert changes[0]["n"] == pytest.approx(200)
    assert changes[1]["between"] == [400.0, 1600.0]
    assert laws.observed_crossover([100, 400, 1600, 6400], [0.3, 0.1, 0.2, 0.05], [0.2, 0.2, 0.1, 0.1])["between"] == [1600.0, 6400.0]
    # crossing below and back above: no crossover for good, but the explanation says the means crossed
    assert laws.observed_crossover([100, 400, 1600], [0.3, 0.1, 0.2], [0.2, 0.2, 0.1]) is None


def test_a_curve_crossing_back_above_is_not_called_a_crossover_for_good():
    end_to_end = [0.3, 0.1, 0.2, 0.25, 0.3, 0.35]
    e2e, e2e_boot = summarise_entry(PipelineEntry("end-to-end", "end-to-end"), runs_of(end_to_end), SIZES, 20, 500)
    trad, trad_boot = summarise_entry(PipelineEntry("traditional", "traditional"), runs_of([0.2] * 6, seed=1), SIZES, 20, 500)
    found = crossing(e2e, trad, e2e_boot, trad_boot, SIZES)
    assert found["observed"] is None and len(found["measured_crossings"]) == 2
    assert "goes back above" in found["explanation"]


def test_a_fit_on_four_sizes_says_it_rests_on_too_few_points():
    sizes = SIZES[:4]
    entry, _ = summarise_entry(PipelineEntry("traditional", "traditional"), runs_of(power_law(0.05, 1.0, 0.5, sizes), sizes),
                               sizes, 20, 500)
    assert entry["fit"]["too_few_points"] is True
    warnings = warnings_of({"seeds": [0], "pipelines": {"traditional": entry}})
    assert any("rests on 4 sizes, too few" in text for text in warnings)
    assert any("one seed" in text for text in warnings)


def test_a_remedy_that_learns_from_five_times_less_data_saves_a_factor_five():
    plain = PipelineEntry("end-to-end", "end-to-end")
    remedy = PipelineEntry("end-to-end:init_from=M", "end-to-end", {"init_from": "M"})
    baseline_means = power_law(0.02, 3.0, 0.6)
    remedy_means = power_law(0.02, 3.0, 0.6, [5 * n for n in SIZES])  # error(n) of the plain pipeline at 5 n
    pipelines, boots = {}, {}
    for entry, means in ((plain, baseline_means), (remedy, remedy_means)):
        pipelines[entry.label], boots[entry.label] = summarise_entry(entry, runs_of(means, noise=0.0005), SIZES, 40, 500)
    target = target_sizes(pipelines, boots, [plain, remedy], None, "items")
    assert target["error"] == pytest.approx(pipelines["end-to-end"]["points"][-1]["mean"])
    assert "end-to-end with the most data" in target["chosen"]
    saved = remedies(pipelines, boots, [plain, remedy], target)["end-to-end:init_from=M"]
    assert saved["baseline"] == "end-to-end"
    assert saved["saving_factor"] == pytest.approx(5, rel=0.25)
    assert saved["saving_factor_measured"] == pytest.approx(5, rel=0.25)
    lo, hi = saved["saving_factor_ci95"]
    assert lo <= saved["saving_factor"] <= hi
