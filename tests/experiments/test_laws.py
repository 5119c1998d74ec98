import math

import numpy as np
import pytest

from e2elab.experiments import laws
from e2elab.experiments.laws import Law


def synthetic(a, b, c, sizes, runs=3, noise=0.002, seed=0):
    rng = np.random.default_rng(seed)
    n = np.repeat(np.asarray(sizes, dtype=float), runs)
    return n, a + b * n ** -c + noise * rng.standard_normal(len(n))


def test_fit_recovers_known_parameters_from_noisy_points():
    n, error = synthetic(0.03, 2.0, 0.6, [50, 100, 200, 500, 1000, 2000, 5000, 10000])
    law = laws.fit_law(n, error)
    assert law.a == pytest.approx(0.03, abs=0.005)
    assert law.c == pytest.approx(0.6, abs=0.08)
    assert law.b == pytest.approx(2.0, rel=0.3)
    # b is reported for n itself, whatever the scaling used in the fit
    assert law(500.0) == pytest.approx(0.03 + 2.0 * 500 ** -0.6, abs=0.003)


def test_bootstrap_intervals_cover_the_true_parameters():
    n, error = synthetic(0.05, 1.0, 0.5, [30, 100, 300, 1000, 3000, 10000], runs=4, noise=0.004, seed=1)
    boot = laws.bootstrap_laws(n, error, n_boot=200, seed=0)
    assert len(boot) >= 190
    lo, hi = laws.percentile_ci([b.a for b in boot])
    assert lo <= 0.05 <= hi
    lo, hi = laws.percentile_ci([b.c for b in boot])
    assert lo <= 0.5 <= hi
    assert hi - lo < 0.5


def test_bootstrap_with_one_run_per_size_resamples_residuals():
    n, error = synthetic(0.05, 1.0, 0.5, [30, 100, 300, 1000, 3000], runs=1, noise=0.003)
    boot = laws.bootstrap_laws(n, error, n_boot=50, seed=0)
    assert len({round(b.a, 6) for b in boot}) > 1  # the resamples differ


def test_fit_needs_three_sizes():
    with pytest.raises(ValueError, match="3 distinct sizes"):
        laws.fit_law([10, 10, 20], [0.3, 0.31, 0.2])


def test_crossover_at_the_known_size():
    end_to_end = Law(a=0.0, b_scaled=1.0, c=1.0)  # 1 / n
    traditional = Law(a=0.01, b_scaled=0.0, c=1.0)  # flat at 0.01: they meet at n = 100
    assert laws.crossover_between(end_to_end, traditional, 10, 1000) == pytest.approx(100, rel=1e-6)
    report = laws.crossover_report(end_to_end, traditional, 10, 1000)
    assert report["crossover"]["n"] == pytest.approx(100, rel=1e-6)
    assert report["extrapolated"] is None


def test_crossover_of_two_power_laws_is_where_they_meet():
    end_to_end = Law(0.01, 20.0, 0.8)
    traditional = Law(0.06, 1.0, 0.4)
    n = laws.crossover_between(end_to_end, traditional, 10, 100000)
    assert n is not None
    assert end_to_end(n) == pytest.approx(traditional(n), abs=1e-9)
    assert end_to_end(n / 2) > traditional(n / 2) and end_to_end(n * 2) < traditional(n * 2)


def test_laws_that_meet_twice_cross_where_end_to_end_goes_below_for_good():
    import math

    traditional = lambda n: np.full_like(np.asarray(n, dtype=float), 0.1)  # noqa: E731
    end_to_end = lambda n: 0.1 - 0.05 * np.cos(np.log(n))  # below, above on (e^pi/2, e^3pi/2), below  # noqa: E731
    assert laws.crossover_between(end_to_end, traditional, 1, 400) == pytest.approx(math.exp(1.5 * math.pi), rel=1e-6)
    report = laws.crossover_report(end_to_end, traditional, 1, 400)
    assert report["crossover"]["n"] == pytest.approx(math.exp(1.5 * math.pi), rel=1e-6)


def test_no_crossover_in_range_reports_the_extrapolated_one():
    end_to_end = Law(0.0, 1.0, 1.0)
    traditional = Law(0.01, 0.0, 1.0)
    report = laws.crossover_report(end_to_end, traditional, 5, 50)
    assert report["crossover"] is None
    assert report["extrapolated"]["n"] == pytest.approx(100, rel=1e-6)
    assert "do not cross in the measured range" in report["explanation"] and "extrapolated" in report["explanation"]


def test_no_crossover_when_end_to_end_stays_above():
    report = laws.crossover_report(Law(0.1, 1.0, 0.5), Law(0.05, 1.0, 0.5), 10, 1000)
    assert report["crossover"] is None and report["extrapolated"] is None
    assert "stays above" in report["explanation"]


def test_no_crossover_when_end_to_end_is_better_throughout():
    report = laws.crossover_report(Law(0.01, 0.5, 0.5), Law(0.05, 1.0, 0.5), 10, 1000)
    assert report["crossover"] is None
    assert "as good or better throughout" in report["explanation"]


def test_crossover_interval_from_bootstrap_pairs():
    pairs = [(Law(0.0, 1.0, 1.0), Law(level, 0.0, 1.0)) for level in (0.008, 0.01, 0.0125)]  # cross at 125, 100, 80
    report = laws.crossover_report(Law(0.0, 1.0, 1.0), Law(0.01, 0.0, 1.0), 10, 1000, pairs)
    lo, hi = report["crossover"]["ci95"]
    assert 80 <= lo < 100 < hi <= 125
    assert report["crossover"]["fraction_found"] == 1.0


def test_n_for_target():
    law = Law(0.0, 1.0, 1.0)
    assert law.n_for(0.02) == pytest.approx(50)
    assert Law(0.05, 1.0, 0.5).n_for(0.05) is None  # at the floor: never reached
    assert Law(0.05, 1.0, 0.5).n_for(0.04) is None
    assert Law(0.01, 4.0, 0.5).n_for(0.03) == pytest.approx((4.0 / 0.02) ** 2)


def test_extrapolation_check_predicts_the_largest_size():
    n, error = synthetic(0.02, 1.5, 0.5, [50, 100, 200, 400, 800, 1600], noise=0.001)
    check = laws.extrapolation_check(n, error)
    assert check["n"] == 1600
    assert check["predicted"] == pytest.approx(0.02 + 1.5 * 1600 ** -0.5, abs=0.01)
    assert check["abs_error"] < 0.01
    assert laws.extrapolation_check([1, 2, 3], [0.3, 0.2, 0.1]) is None


def test_observed_crossover_interpolates_between_sizes():
    found = laws.observed_crossover([10, 100, 1000], [0.5, 0.2, 0.05], [0.3, 0.2, 0.15])
    assert found["between"] == [10.0, 100.0] and found["n"] == pytest.approx(100)
    found = laws.observed_crossover([10, 100, 1000], [0.5, 0.3, 0.05], [0.3, 0.2, 0.15])
    assert found["between"] == [100.0, 1000.0] and 100 < found["n"] < 1000
    assert laws.observed_crossover([10, 100], [0.5, 0.4], [0.3, 0.2]) is None


def test_law_to_dict_uses_the_documented_form():
    d = Law(0.1, 2.0, 0.5, n0=100.0).to_dict()
    assert d["form"] == "a + b * n**-c"
    assert d["b"] == pytest.approx(2.0 * math.sqrt(100))
