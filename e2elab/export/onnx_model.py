"""Run an ONNX file written by `e2elab export` with onnxruntime, answering like the pipeline it came from.

The file holds the network (raw signals in, log-probabilities out) and, in its metadata, what
Python does around it: how items become the network's input, and for speech the CTC decoder's
settings, lexicon and language model. :func:`load_onnx` checks the file before it runs anything:
a regular file of bounded size, an ONNX model, e2elab metadata that passes its schema, no
tensors stored in other files (which would make loading read files it names), and the inputs
the pipeline's graph has. Loading an ONNX file executes no code: onnxruntime runs a fixed
vocabulary of operators.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.base import ClassifierMixin

from ..base import word_error_rate
from ..errors import E2elabError, ModelIntegrityError, UnsafeModelError
from ..model_files import one_line
from ..model_files.files import MAX_WEIGHTS_BYTES, read_model_file
from .dependencies import require
from .metadata import read_metadata

IMAGE_BATCH = 256  # images per onnxruntime call
SPEECH_BATCH_SECONDS = 60.0  # padded audio per onnxruntime call, as the pipeline batches it


def load_onnx(path: str | os.PathLike, threads: int | None = None, providers: list[str] | None = None) -> OnnxModel:
    """The model in the ONNX file `path`, run by onnxruntime on `threads` threads (None: its default)
    with `providers` (None: every one available, CUDA first when onnxruntime-gpu is installed)."""
    path = Path(path)
    data = read_model_file(path, MAX_WEIGHTS_BYTES)
    proto = _parse(data, path)
    fields = read_metadata({entry.key: entry.value for entry in proto.metadata_props}, path)
    _refuse_external_data(proto, path)
    model_class = OnnxImageClassifier if fields["task"] == "image" else OnnxSpeechRecognizer
    inputs = [i.name for i in proto.graph.input]
    if inputs != list(model_class.input_names):
        raise ModelIntegrityError(f"{path}: the graph's inputs are {inputs}, not the {model_class.input_names} of an "
                                  f"exported {fields['task']} model")
    session = _session(data, path, threads, providers)
    try:
        return model_class(session, fields, path)
    except (E2elabError, ValueError, TypeError, KeyError) as err:  # metadata that passed the schema, unusable still
        raise ModelIntegrityError(f"{path}: its metadata does not describe a usable model ({one_line(err)})") from None


class OnnxModel:
    """An exported end-to-end model; `metadata_` holds the file's checked metadata fields."""

    kind = "end-to-end"
    task: str
    input_names: tuple[str, ...]

    def __init__(self, session, metadata: dict, path: Path):
        self.session, self.metadata_, self.path = session, metadata, path

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


class OnnxImageClassifier(ClassifierMixin, OnnxModel):
    """What EndToEndImageClassifier answers (`predict`, `predict_proba`, `predict_details`, `score`)."""

    task = "image"
    input_names = ("pixels",)

    def __init__(self, session, metadata: dict, path: Path):
        super().__init__(session, metadata, path)
        self.classes_ = np.array(metadata["classes"])

    def predict_log_proba(self, X) -> np.ndarray:
        """Calibrated class log-probabilities, (N, K)."""
        from ..image.transforms import decode_squares, to_chw

        meta = self.metadata_
        squares, _, _ = decode_squares(list(X), meta["input_size"], meta["resize"], "raise", False, "decoding images",
                                       meta["max_pixels"])
        if not squares:
            return np.zeros((0, len(self.classes_)), np.float32)
        pixels = to_chw(squares, meta["channels"]).numpy()  # (N, C, S, S) uint8
        return np.concatenate([self.session.run(None, {"pixels": pixels[start:start + IMAGE_BATCH]})[0]
                               for start in range(0, len(pixels), IMAGE_BATCH)])

    def predict_proba(self, X) -> np.ndarray:
        probabilities = np.exp(self.predict_log_proba(X).astype(np.float64))
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_log_proba(X).argmax(axis=1)]

    def predict_details(self, X, top_k: int | None = 5) -> list[dict]:
        """Per image: the predicted label and the `top_k` classes with calibrated probabilities."""
        from ..image.end_to_end import EndToEndImageClassifier

        # The pipeline's own method, which reads only predict_proba and classes_: one format for both.
        return EndToEndImageClassifier.predict_details(self, X, top_k)


class OnnxSpeechRecognizer(OnnxModel):
    """What EndToEndSpeechRecognizer answers (`predict`, `predict_details`, `score`), decoded in Python."""

    task = "speech"
    input_names = ("waveform", "lengths")

    def __init__(self, session, metadata: dict, path: Path):
        from ..speech.ctc import CharVocabulary
        from ..speech.ctc_decode import LexiconTrie, WordNgramLM
        from ..speech.ctc_decoding import CTCDecoding

        super().__init__(session, metadata, path)
        self.vocabulary_ = CharVocabulary(metadata["alphabet"])
        self.decoding_ = CTCDecoding.from_dict(metadata["decoder"])
        self.trie_ = LexiconTrie(metadata["lexicon"], self.vocabulary_.encode)
        self.lm_ = WordNgramLM.from_json(metadata["lm"]) if metadata["lm"] else None
        if self.lm_ is not None:
            self.lm_.add_words(metadata["lexicon"])

    def posteriors(self, X) -> list[np.ndarray]:
        """Per-frame log-probabilities (T', V) of every clip."""
        from ..speech.clips import read_clip

        meta = self.metadata_
        waves = []
        for i, item in enumerate(X):
            name = str(item) if isinstance(item, (str, Path)) else f"item {i}"
            wave = read_clip(item, meta["sample_rate"], meta["max_seconds"], name)
            waves.append(np.pad(wave, (0, max(0, meta["min_samples"] - len(wave)))).astype(np.float32))
        out: list[np.ndarray] = [np.zeros((0, len(self.vocabulary_)), np.float32)] * len(waves)
        for chunk in self._batches([len(w) for w in waves]):
            log_probs, frames = self._run([waves[i] for i in chunk])
            for row, i in enumerate(chunk):
                out[i] = log_probs[row, : int(frames[row])]
        return out

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Clip indices in batches of similar lengths, each at most SPEECH_BATCH_SECONDS padded (or one clip)."""
        cap = SPEECH_BATCH_SECONDS * self.metadata_["sample_rate"]
        batches: list[list[int]] = []
        for i in sorted(range(len(lengths)), key=lengths.__getitem__):
            if batches and lengths[i] * (len(batches[-1]) + 1) <= cap:
                batches[-1].append(i)
            else:
                batches.append([i])
        return batches

    def _run(self, waves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The graph's outputs for a batch, padded with zeros to whole frames (the graph's input has whole frames)."""
        step = self.metadata_["samples_per_frame"]
        width = -(-max(len(w) for w in waves) // step) * step
        batch = np.zeros((len(waves), width), np.float32)
        for row, wave in enumerate(waves):
            batch[row, : len(wave)] = wave
        lengths = np.array([len(w) for w in waves], dtype=np.int64)
        log_probs, frames = self.session.run(None, {"waveform": batch, "lengths": lengths})
        return log_probs, frames

    def _decode(self, log_probs: np.ndarray) -> str:
        labels = self.decoding_.decode(log_probs, self.trie_, self.vocabulary_.space, self.lm_)
        return " ".join(self.vocabulary_.decode(labels).split())

    def predict(self, X) -> list[str]:
        return [self._decode(p) for p in self.posteriors(X)]

    def predict_details(self, X) -> list[dict]:
        """Transcripts with each word's start, end (seconds) and confidence, from CTC forced alignment."""
        from ..speech.ctc import word_timings

        frame_seconds = self.metadata_["samples_per_frame"] / self.metadata_["sample_rate"]
        details = []
        for p in self.posteriors(X):
            text = self._decode(p)
            details.append({"text": text, "words": word_timings(p, text, self.vocabulary_, frame_seconds)})
        return details

    def score(self, X, y) -> float:
        """1 - WER, as the pipeline scores."""
        return 1.0 - word_error_rate(list(y), self.predict(X))


def _parse(data: bytes, path: Path):
    """The ModelProto in `data`, or an error saying the file is no (whole) ONNX model."""
    onnx = require("onnx")
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as err:  # protobuf's DecodeError and friends: the bytes are not an ONNX model
        raise ModelIntegrityError(f"{path}: not an ONNX model, or cut short ({one_line(err)})") from None
    if not proto.graph.node:
        raise ModelIntegrityError(f"{path}: not an ONNX model (no graph in it)")
    return proto


def _refuse_external_data(proto, path: Path):
    onnx = require("onnx")
    from onnx.external_data_helper import uses_external_data

    tensors = list(proto.graph.initializer)
    for node in proto.graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR:
                tensors.append(attribute.t)
            tensors.extend(attribute.tensors)
    named = [t.name for t in tensors if uses_external_data(t)]
    if named:
        raise UnsafeModelError(f"{path}: tensor {named[0]!r} is stored in another file; an e2elab ONNX file holds "
                               "all its weights, and loading will not read files an ONNX file names")


def _session(data: bytes, path: Path, threads: int | None, providers: list[str] | None):
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(data, sess_options=options, providers=providers or ort.get_available_providers())
    except Exception as err:  # onnxruntime's errors are its own types: a graph it cannot build or run
        raise ModelIntegrityError(f"{path}: onnxruntime cannot run this model ({one_line(err)})") from None
