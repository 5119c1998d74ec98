"""Learning-curve law fits: exact on noiseless power laws, finite or a clear error on anything else."""

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from e2elab.experiments.laws import fit_law

SIZES = np.array([50, 100, 200, 400, 800, 1600, 3200])


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0.0, 0.3), b=st.floats(0.5, 20.0), c=st.floats(0.2, 1.5))
def test_noiseless_power_law_is_recovered(a, b, c):
    error = a + b * SIZES ** -c
    assume(b * SIZES[-1] ** -c > 1e-3)  # the curve still falls where it is measured: its parameters are identifiable
    law = fit_law(SIZES, error)
    assert np.allclose(law(SIZES), error, rtol=1e-4, atol=1e-6)
    assert math.isclose(law.c, c, rel_tol=0.02) and math.isclose(law.b, b, rel_tol=0.1)
    assert math.isclose(law.a, a, abs_tol=2e-3)


POSITIVE = st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=80, deadline=None)
@given(points=st.lists(st.tuples(st.integers(1, 10**6), POSITIVE), min_size=1, max_size=12))
def test_any_finite_positive_points_give_a_finite_law_or_a_clear_error(points):
    n, error = map(np.array, zip(*points))
    try:
        law = fit_law(n, error)
    except ValueError as err:
        assert "at least 3 distinct sizes" in str(err)
        assert len(set(n.tolist())) < 3
        return
    assert all(math.isfinite(v) for v in (law.a, law.b_scaled, law.c, law.n0))
    assert np.all(np.isfinite(law(n)))
