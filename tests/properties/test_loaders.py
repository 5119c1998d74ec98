"""Loaders on arbitrary arrays: a clean result or the e2elab error, never anything else."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from e2elab.data.audio import prepare_waveform
from e2elab.data.image import as_image
from e2elab.errors import AudioError, ImageError

DTYPES = st.one_of(hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(), hnp.floating_dtypes(), hnp.complex_number_dtypes(),
                   hnp.boolean_dtypes())


def arrays(max_dims: int, max_side: int):
    return DTYPES.flatmap(lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0,
                                                                           max_side=max_side)))


@settings(max_examples=100, deadline=None)
@given(samples=arrays(3, 40), rate=st.sampled_from([16_000, 8_000, 44_100, 1, 10_000_000]))
def test_prepare_waveform_gives_finite_float32_in_range_or_audio_error(samples, rate):
    try:
        wave = prepare_waveform(samples, rate, 16_000, source="clip")
    except AudioError as err:
        assert err.source == "clip"
        return
    assert wave.dtype == np.float32 and wave.ndim == 1 and wave.size > 0
    assert np.all(np.isfinite(wave)) and np.max(np.abs(wave)) <= 1.0


@settings(max_examples=100, deadline=None)
@given(array=arrays(4, 12), channels=st.sampled_from([None, 1, 3]))
def test_as_image_gives_uint8_or_image_error(array, channels):
    try:
        image = as_image(array, channels=channels)
    except ImageError:
        return
    assert image.dtype == np.uint8 and image.size > 0
    assert image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
    if channels == 1:
        assert image.ndim == 2
    if channels == 3:
        assert image.ndim == 3
