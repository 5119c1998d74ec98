"""A small ctypes binding to the espeak-ng speech synthesiser shipped in the `espeakng-loader` wheel.

e2elab synthesises its built-in offline speech corpus with espeak-ng: no download, no system
package, the same audio on every machine. Only what the corpus needs is bound: initialise in
synchronous mode with a callback that collects the samples, pick a voice (language + variant),
set rate / pitch / pitch range, synthesise, list voices and variants, and turn text into
phonemes (to check what a transcript sounds like).

espeak-ng keeps its state in globals (current voice, parameters, the synth callback), so one
process holds one synthesiser. Every call goes through a module-wide lock, which makes the
functions here safe to call from several threads (they run one at a time); for parallel
synthesis use several processes, each initialises its own library.

Reproducibility: the waveform generator carries some state from one utterance to the next
(the position in its pitch-flutter table, the glottal phase), which neither re-initialising nor
a random seed resets. The same call therefore gives audio that differs slightly (a few
milliseconds, a slightly different pitch wobble) from one call to the next in a process, while
the same sequence of calls in a fresh process gives identical samples. Code that needs
bit-identical audio synthesises a fixed sequence in a fresh process, as
`e2elab.synth.speech_digits` does.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import E2elabError

# espeak_AUDIO_OUTPUT: synthesise in the calling thread and hand each block to the callback.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
# espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_DONT_EXIT
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
# espeak_PARAMETER
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_END_PAUSE = 0x1000
# espeak_EVENT_TYPE values that carry what was spoken.
_EVENT_WORD, _EVENT_PHONEME = 1, 7
_IPA = 0x02

# Limits that espeak-ng accepts (words per minute, 0-100 pitch scale).
RATE_RANGE = (80, 450)
PITCH_RANGE = (0, 99)


class EspeakError(E2elabError, RuntimeError):
    """espeak-ng could not be loaded, or refused a voice, parameter or text."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """espeak_EVENT from speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    """espeak_VOICE from speak_lib.h."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, language string)* ended by a 0 byte
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class VoiceInfo:
    """One espeak-ng voice (a language/accent) or variant (a voice quality: m1, f2, klatt, ...)."""

    name: str
    identifier: str
    languages: tuple[str, ...]
    gender: str


@dataclass
class Synthesis:
    """What one call to `synthesize` produced.

    samples: int16 waveform (N,) at `sample_rate`.
    words: (start in seconds, text) for each word espeak-ng spoke, in order.
    phonemes: the phoneme mnemonics espeak-ng synthesised, in order.
    """

    samples: np.ndarray
    sample_rate: int
    words: list[tuple[float, str]]
    phonemes: list[str]


class _Engine:
    """The loaded library and its one synth callback (espeak-ng allows only one per process)."""

    def __init__(self, lib: ctypes.CDLL, sample_rate: int, data_path: str):
        self.lib = lib
        self.sample_rate = sample_rate
        self.data_path = data_path
        self.blocks: list[np.ndarray] = []
        self.events: list[tuple[int, int, int, int, bytes]] = []  # type, ms, text position, length, phoneme
        self.voices: list[VoiceInfo] | None = None  # cached lists, filled on first use
        self.variants: set[str] | None = None
        self.callback = _SynthCallback(self._on_audio)  # kept referenced: C holds the pointer
        lib.espeak_SetSynthCallback(self.callback)

    def _on_audio(self, wav, n_samples, events) -> int:
        if n_samples > 0:
            self.blocks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        i = 0
        while events[i].type != 0:  # espeakEVENT_LIST_TERMINATED
            event = events[i]
            if event.type in (_EVENT_WORD, _EVENT_PHONEME):
                label = bytes(event.id.string).split(b"\0", 1)[0] if event.type == _EVENT_PHONEME else b""
                self.events.append((event.type, event.audio_position, event.text_position, event.length, label))
            i += 1
        return 0  # 0: go on synthesising


_lock = threading.RLock()
_engine: _Engine | None = None


def library_paths() -> tuple[str, str]:
    """(shared library, espeak-ng-data folder) as provided by the espeakng-loader wheel."""
    try:
        import espeakng_loader
    except ImportError as err:
        raise EspeakError(
            f"the espeakng-loader package is not installed ({err}); run: pip install espeakng-loader") from None
    try:
        return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
    except RuntimeError as err:
        raise EspeakError(f"espeakng-loader is installed but incomplete: {err}") from None


def _load() -> _Engine:
    """Load and initialise libespeak-ng once per process."""
    global _engine
    if _engine is not None:
        return _engine
    lib_path, data_path = library_paths()
    if not Path(lib_path).exists():
        raise EspeakError(f"{lib_path}: espeak-ng shared library not found; reinstall espeakng-loader")
    try:
        lib = ctypes.CDLL(lib_path)
    except OSError as err:
        raise EspeakError(f"{lib_path}: cannot load the espeak-ng shared library: {err}") from None
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
    ]
    lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_Voice)]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    lib.espeak_Info.restype = ctypes.c_char_p
    if hasattr(lib, "espeak_ng_SetRandSeed"):  # espeak-ng >= 1.51
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None

    # The path is the folder that holds espeak-ng-data, and DONT_EXIT keeps a missing-data error
    # from ending the whole Python process.
    root = str(Path(data_path).parent).encode()
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, root, _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
    if rate <= 0:
        raise EspeakError(f"{data_path}: espeak-ng failed to initialise (is espeak-ng-data complete?)")
    _engine = _Engine(lib, rate, data_path)
    return _engine


def version() -> str:
    """The espeak-ng library version, e.g. '1.52.0'."""
    with _lock:
        engine = _load()
        return engine.lib.espeak_Info(None).decode()


def sample_rate() -> int:
    """The rate espeak-ng synthesises at (22050 Hz)."""
    with _lock:
        return _load().sample_rate


def _voice_list(spec: _Voice | None) -> list[VoiceInfo]:
    engine = _load()
    array = engine.lib.espeak_ListVoices(ctypes.byref(spec) if spec is not None else None)
    voices = []
    i = 0
    while array[i]:
        voice = array[i].contents
        languages = []
        raw = ctypes.cast(voice.languages, ctypes.POINTER(ctypes.c_ubyte))
        offset = 0
        while raw[offset] != 0:  # priority byte, then a NUL-terminated language name
            name = ctypes.string_at(voice.languages + offset + 1)
            languages.append(name.decode())
            offset += len(name) + 2
        gender = {1: "male", 2: "female"}.get(voice.gender, "")
        voices.append(VoiceInfo(voice.name.decode(), voice.identifier.decode(), tuple(languages), gender))
        i += 1
    return voices


def list_voices(language: str = "") -> list[VoiceInfo]:
    """The installed voices whose language starts with `language` (e.g. "en"), case-insensitive."""
    prefix = language.lower()
    with _lock:
        voices = _voice_list(None)
    return [v for v in voices if any(lang.lower().startswith(prefix) for lang in v.languages)]


# espeak_ListVoices lists the variants when asked for the language "variant".
_VARIANT_LANGUAGE = ctypes.create_string_buffer(b"variant")


def _variant_names() -> set[str]:
    engine = _load()
    if engine.variants is None:
        spec = _Voice(languages=ctypes.addressof(_VARIANT_LANGUAGE))
        engine.variants = {v.identifier.split("/")[-1] for v in _voice_list(spec)}
    return engine.variants


def list_variants() -> list[str]:
    """The names of the installed voice variants (m1..m8, f1..f5, klatt, ...), as `synthesize` takes them."""
    with _lock:
        return sorted(_variant_names())


def _voice_file(voice: str) -> str:
    """The voice file name for `voice`, which may be a file name ("en-US") or a language ("en-gb")."""
    wanted = voice.lower()
    engine = _load()
    if engine.voices is None:
        engine.voices = _voice_list(None)
    voices = engine.voices
    for info in voices:
        if info.identifier.split("/")[-1].lower() == wanted:
            return info.identifier.split("/")[-1]
    for info in voices:
        if info.languages and info.languages[0].lower() == wanted:
            return info.identifier.split("/")[-1]
    raise EspeakError(f"espeak-ng has no voice {voice!r} (see e2elab.synth.espeak.list_voices)")


def _set_voice(engine: _Engine, voice: str, variant: str | None) -> None:
    name = _voice_file(voice)
    if variant:
        if variant not in _variant_names():
            raise EspeakError(f"espeak-ng has no voice variant {variant!r} (see e2elab.synth.espeak.list_variants)")
        name = f"{name}+{variant}"
    status = engine.lib.espeak_SetVoiceByName(name.encode())
    if status != 0:
        raise EspeakError(f"espeak-ng has no voice {name!r} (see e2elab.synth.espeak.list_voices and list_variants)")


def _set(engine: _Engine, parameter: int, value: int, name: str, limits: tuple[int, int]) -> None:
    if not limits[0] <= value <= limits[1]:
        raise EspeakError(f"{name} {value} is outside espeak-ng's range {limits[0]}..{limits[1]}")
    if engine.lib.espeak_SetParameter(parameter, int(value), 0) != 0:
        raise EspeakError(f"espeak-ng refused {name} = {value}")


def synthesize(
    text: str,
    voice: str = "en-us",
    variant: str | None = None,
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    word_gap: int = 0,
    seed: int = 0,
) -> Synthesis:
    """Speak `text` with `voice` (a language/accent, e.g. "en-gb-scotland") and `variant` (e.g. "f2").

    rate is in words per minute (80-450), pitch and pitch_range on espeak-ng's 0-99 scale,
    word_gap adds pauses between words in units of 10 ms. `seed` seeds espeak-ng's random
    generator (used for breath noise and the Klatt voices' noise source); see the module
    docstring for what else makes repeated calls differ.
    """
    if not text.strip():
        raise EspeakError("cannot synthesise empty text")
    with _lock:
        engine = _load()
        _set_voice(engine, voice, variant)
        _set(engine, _RATE, rate, "rate", RATE_RANGE)
        _set(engine, _PITCH, pitch, "pitch", PITCH_RANGE)
        _set(engine, _RANGE, pitch_range, "pitch range", PITCH_RANGE)
        _set(engine, _WORDGAP, word_gap, "word gap", (0, 100))
        _set(engine, _VOLUME, 100, "volume", (0, 200))
        if hasattr(engine.lib, "espeak_ng_SetRandSeed"):
            engine.lib.espeak_ng_SetRandSeed(int(seed))
        engine.blocks, engine.events = [], []
        data = text.encode("utf-8") + b"\0"
        status = engine.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _END_PAUSE, None, None)
        if status != 0:
            raise EspeakError(f"espeak-ng failed to synthesise {text!r} (status {status})")
        samples = np.concatenate(engine.blocks) if engine.blocks else np.zeros(0, dtype=np.int16)
        words, phonemes = [], []
        encoded = text.encode("utf-8")
        for kind, ms, position, length, label in engine.events:
            if kind == _EVENT_WORD:
                start = position - 1  # text positions count from 1
                words.append((ms / 1000.0, encoded[start : start + length].decode("utf-8", "replace")))
            elif label:
                phonemes.append(label.decode("utf-8", "replace"))
        engine.blocks, engine.events = [], []
    return Synthesis(samples.astype(np.int16, copy=False), engine.sample_rate, words, phonemes)


def text_to_phonemes(text: str, voice: str = "en-us", ipa: bool = False) -> str:
    """How `voice` pronounces `text`: espeak-ng's phoneme mnemonics (or IPA), words space separated."""
    with _lock:
        engine = _load()
        _set_voice(engine, voice, None)
        source = ctypes.create_string_buffer(text.encode("utf-8"))
        # The library advances this pointer through `source` clause by clause, NULL at the end.
        pointer = ctypes.c_char_p(ctypes.addressof(source))
        pieces = []
        while pointer.value:
            out = engine.lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _IPA if ipa else 0)
            if out:
                pieces.append(out.decode("utf-8").strip())
    return " ".join(piece for piece in pieces if piece)
