"""Speech augmentation: each kind stays within its bounds, repeats from a seed, switches off; the
policy is one immutable value a pipeline takes as its `augment` parameter."""

import dataclasses

import numpy as np
import pytest

from e2elab.speech.augment import SpeechAugmentation, random_equaliser


def _gain_db(before: np.ndarray, after: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(after.astype(np.float64) ** 2) / np.mean(before.astype(np.float64) ** 2)))


def test_equaliser_gain_stays_within_its_bound():
    rng = np.random.default_rng(0)
    for hz in (60.0, 500.0, 3000.0):
        tone = np.sin(2 * np.pi * hz * np.arange(8000) / 8000).astype(np.float32)
        for _ in range(5):
            assert abs(_gain_db(tone, random_equaliser(tone, rng, 6.0))) <= 6.0 + 0.1


def test_augment_is_repeatable_from_a_seed_and_each_kind_switches_off():
    wave = np.random.default_rng(2).standard_normal(4000).astype(np.float32)
    augment = SpeechAugmentation()
    np.testing.assert_array_equal(augment(wave, np.random.default_rng(3)), augment(wave, np.random.default_rng(3)))
    assert not np.array_equal(augment(wave, np.random.default_rng(3)), augment(wave, np.random.default_rng(4)))
    off = SpeechAugmentation(speed=0.0, eq_db=None, noise_snr_db=None, gain_db=None)
    np.testing.assert_array_equal(off(wave, np.random.default_rng(3)), wave)


@pytest.mark.parametrize("augment, expected", [
    (True, SpeechAugmentation()), (False, None), (None, None),
    (SpeechAugmentation(time_masks=0), SpeechAugmentation(time_masks=0)),
])
def test_the_augment_parameter_names_one_policy(augment, expected):
    assert SpeechAugmentation.of(augment) == expected


def test_the_default_policy_is_the_one_the_figures_were_measured_with():
    assert dataclasses.asdict(SpeechAugmentation()) == dict(speed=0.1, eq_db=8.0, noise_snr_db=10.0, gain_db=10.0,
                                                            time_masks=2, freq_masks=2)
