"""The ctypes binding to espeak-ng: voices, synthesis, parameters, phonemes and errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from e2elab.synth import espeak


def _f0(samples: np.ndarray, rate: int) -> float:
    """Median fundamental frequency (Hz) of the loud frames, by autocorrelation."""
    x = samples.astype(np.float64) / 32768.0
    frame, hop = int(0.04 * rate), int(0.01 * rate)
    lo, hi = int(rate / 400), int(rate / 60)
    peak = np.max(np.abs(x))
    estimates = []
    for start in range(0, len(x) - frame, hop):
        chunk = x[start : start + frame]
        if np.max(np.abs(chunk)) < 0.3 * peak:
            continue
        chunk = chunk - chunk.mean()
        ac = np.correlate(chunk, chunk, "full")[frame - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5 * ac[0]:
            estimates.append(rate / lag)
    return float(np.median(estimates))


def test_library_loads_and_reports_version():
    assert espeak.version().count(".") >= 1
    assert espeak.sample_rate() == 22050


def test_lists_english_accents_and_variants():
    languages = {lang for voice in espeak.list_voices("en") for lang in voice.languages}
    assert {"en-gb", "en-us", "en-gb-scotland", "en-029"} <= languages
    assert all(any(lang.startswith("en") for lang in v.languages) for v in espeak.list_voices("en"))
    variants = espeak.list_variants()
    assert {"m1", "m7", "f1", "f4", "klatt"} <= set(variants)


def test_synthesises_audible_speech_of_plausible_length():
    out = espeak.synthesize("seven", "en-us", "m3")
    assert out.samples.dtype == np.int16
    duration = len(out.samples) / out.sample_rate
    assert 0.2 < duration < 1.5
    assert np.max(np.abs(out.samples)) > 3000  # clearly audible, not silence
    longer = espeak.synthesize("seven three one four nine", "en-us", "m3")
    assert len(longer.samples) > 2 * len(out.samples)


def test_reports_the_words_and_phonemes_it_spoke():
    text = "four two seven zero"
    out = espeak.synthesize(text, "en-gb", "f2")
    assert [word for _, word in out.words] == text.split()
    starts = [start for start, _ in out.words]
    assert starts == sorted(starts) and starts[-1] < len(out.samples) / out.sample_rate
    # The phonemes synthesised are the phonemes of the text, in order (pauses aside).
    spoken = "".join(p for p in out.phonemes if not p.startswith("_"))
    assert spoken == espeak.text_to_phonemes(text, "en-gb").replace(" ", "")


def test_accents_pronounce_digits_differently():
    rp = espeak.text_to_phonemes("four zero", "en-gb-x-rp")
    us = espeak.text_to_phonemes("four zero", "en-us")
    assert rp and us and rp != us
    assert espeak.text_to_phonemes("nine", "en-us", ipa=True).startswith("n")


def test_rate_changes_duration():
    slow = espeak.synthesize("one two three four", "en-us", "m1", rate=110)
    fast = espeak.synthesize("one two three four", "en-us", "m1", rate=300)
    assert len(slow.samples) > 1.8 * len(fast.samples)


def test_pitch_and_variant_change_the_voice():
    rate = espeak.sample_rate()
    low = _f0(espeak.synthesize("nine nine nine", "en-us", "m1", pitch=10).samples, rate)
    high = _f0(espeak.synthesize("nine nine nine", "en-us", "m1", pitch=90).samples, rate)
    assert high > 1.3 * low
    male = _f0(espeak.synthesize("nine nine nine", "en-us", "m1").samples, rate)
    female = _f0(espeak.synthesize("nine nine nine", "en-us", "f1").samples, rate)
    assert female > 1.4 * male


def test_bad_voice_variant_parameter_or_text_raise():
    with pytest.raises(espeak.EspeakError, match="no voice 'xx-nowhere'"):
        espeak.synthesize("one", "xx-nowhere")
    with pytest.raises(espeak.EspeakError, match="variant 'nosuch'"):
        espeak.synthesize("one", "en-us", "nosuch")
    with pytest.raises(espeak.EspeakError, match="rate 5"):
        espeak.synthesize("one", "en-us", rate=5)
    with pytest.raises(espeak.EspeakError, match="empty"):
        espeak.synthesize("  ")


def test_missing_library_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(espeak, "_engine", None)
    missing = tmp_path / "libespeak-ng.so"
    monkeypatch.setattr(espeak, "library_paths", lambda: (str(missing), str(tmp_path / "espeak-ng-data")))
    with pytest.raises(espeak.EspeakError, match="libespeak-ng.so"):
        espeak.synthesize("one")


def test_threads_take_turns():
    """Calls from several threads are serialised by the lock and each gets its own audio."""
    texts = ["one", "two three", "four five six", "seven eight nine zero"]
    results: dict[str, espeak.Synthesis] = {}

    def speak(text):
        results[text] = espeak.synthesize(text, "en-us", "m2")

    threads = [threading.Thread(target=speak, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for text in texts:
        assert [w for _, w in results[text].words] == text.split()
    lengths = [len(results[t].samples) for t in texts]
    assert lengths == sorted(lengths)
