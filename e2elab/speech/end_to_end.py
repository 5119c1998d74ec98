"""End-to-end speech recognition: waveform -> learned filterbank -> encoder -> CTC -> transcript.

One network is trained from (clip, transcript) pairs alone: no phone set, no pronunciation
lexicon, no hand-made features. Decoding is greedy, open-vocabulary prefix beam search, or
(the default) beam search constrained to the words seen in training (plus any `words` given),
with a word n-gram language model estimated from the training transcripts.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ..base import ModelState, SpeechRecognizerMixin, Stage
from ..data.text import normalize_transcript
from ..errors import AudioError, DataError
from ..params import DEVICE, Choice, Int, Real
from ..registry import register_pipeline
from .augment import SpeechAugmentation
from .clips import ctc_frames_needed, read_clip, too_short
from .ctc import CharVocabulary, word_timings
from .ctc_batches import ClipDataset, ctc_step, ctc_validation, pad_batch
from .ctc_decode import LexiconTrie, WordNgramLM
from .ctc_decoding import DECODERS, CTCDecoding
from .model import SpeechCTCModel

log = logging.getLogger(__name__)

MIN_SECONDS = 0.25  # shorter clips are padded with silence so CTC has frames for every character
FLOOR_DB = 30.0  # band energies are floored this far below the clip's mean, hiding a quiet recording's hiss
# A training batch holds at most `batch_size` clips and at most this much padded audio per clip of
# `batch_size`, never under MIN_BATCH_SECONDS: long clips then come in smaller batches.
SECONDS_PER_BATCH_CLIP = 0.75
MIN_BATCH_SECONDS = 24.0
# Parameters that do not change what the network learns: a checkpoint folder written under other
# values of these is still the same run (decoding happens after training).
NOT_TRAINING = {"device", "checkpoint_dir", "progress", "decoder", "words"}


def _item_name(item, index: int, purpose: str) -> str:
    return str(item) if isinstance(item, (str, Path)) else f"{purpose} item {index}"


@register_pipeline("speech", "end-to-end")
class EndToEndSpeechRecognizer(SpeechRecognizerMixin, BaseEstimator):
    """A CTC speech recogniser trained from the waveform up.

    Parameters
    ----------
    sample_rate : int, default=8000
        Working rate in Hz (clips are resampled): 8 kHz suits telephone-band digits.
    frontend : {"sinc", "logmel"}, default="sinc"
        "sinc": learned band-pass filters initialised on the mel scale; "logmel": the fixed,
        hand-made filterbank, to compare learned against fixed features.
    n_filters : int, default=40
        Bands of the front-end.
    width, depth : int, default=128, 2
        Units of each direction of the BiGRU encoder, and its layers.
    dropout : float, default=0.15
        Dropout between the encoder's layers and before the output layer.
    epochs, batch_size : int, default=8, 32
        Passes over the training clips, and clips per batch (of similar lengths).
    lr : float, default=3e-3
        Peak learning rate of the one-cycle schedule (AdamW).
    weight_decay : float, default=5e-4
        AdamW weight decay.
    patience : int or None, default=None
        Stop after this many epochs without a better validation loss and keep the best epoch
        (needs `validation_fraction`); None trains every epoch and keeps the last.
    validation_fraction : float, default=0.0
        Whole speakers (from `groups`) held out to pick the best epoch. With a handful of
        speakers, holding one out costs more than early stopping gains.
    augment : bool, SpeechAugmentation or None, default=True
        Changes of the training clips: True the default :class:`~e2elab.speech.augment.SpeechAugmentation`
        (speed, equaliser, noise, gain, masks), None or False none, or a policy of your own.
    decoder : {"lexicon", "beam", "greedy"} or CTCDecoding, default="lexicon"
        How posteriors become words: a name, or a :class:`~e2elab.speech.ctc_decoding.CTCDecoding`
        that also sets the beam and the word language model.
    words : list of str or None, default=None
        Words the lexicon decoder may spell besides those of the training transcripts.
    max_seconds : float or None, default=30.0
        Longest clip accepted (None: no limit), in training, prediction and explanations.
    on_error : {"raise", "skip"}, default="raise"
        An unusable clip or transcript raises a DataError naming it, or is skipped and counted.
    device : str, default="auto"
        "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:N" or "mps".
    checkpoint_dir : str or None, default=None
        Folder for per-epoch checkpoints; a rerun of the same run resumes from it.
    progress : bool or None, default=None
        Progress bars while training; None shows them in a terminal or a notebook.
    seed : int, default=0
        Seeds the initialisation, batch order, augmentation and validation split.
    """

    _parameter_constraints = {
        "sample_rate": [Int(4000)], "frontend": [Choice("sinc", "logmel")], "n_filters": [Int(1)],
        "width": [Int(1)], "depth": [Int(1)], "dropout": [Real(0, 1, closed="left")], "epochs": [Int(1)],
        "batch_size": [Int(1)], "lr": [Real(0, closed="neither")], "weight_decay": [Real(0)],
        "patience": [Int(1), None], "validation_fraction": [Real(0, 1, closed="left")],
        "augment": ["boolean", SpeechAugmentation, None], "decoder": [Choice(*DECODERS), CTCDecoding],
        "words": [list, tuple, set, None], "max_seconds": [Real(0, closed="neither"), None],
        "on_error": [Choice("raise", "skip")], "device": [DEVICE], "checkpoint_dir": [str, os.PathLike, None],
        "progress": ["boolean", None], "seed": [Int(0)],
    }

    def __init__(self, sample_rate=8000, frontend="sinc", n_filters=40, width=128, depth=2, dropout=0.15, epochs=8,
                 batch_size=32, lr=3e-3, weight_decay=5e-4, patience=None, validation_fraction=0.0, augment=True,
                 decoder="lexicon", words=None, max_seconds=30.0, on_error="raise", device="auto",
                 checkpoint_dir=None, progress=None, seed=0):
        self.sample_rate = sample_rate
        self.frontend = frontend
        self.n_filters = n_filters
        self.width = width
        self.depth = depth
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.augment = augment
        self.decoder = decoder
        self.words = words
        self.max_seconds = max_seconds
        self.on_error = on_error
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        self.seed = seed

    def _batch_seconds(self) -> float:
        """Padded audio a training batch may hold: room for `batch_size` clips of SECONDS_PER_BATCH_CLIP."""
        return max(MIN_BATCH_SECONDS, SECONDS_PER_BATCH_CLIP * self.batch_size)

    # ----------------------------------------------------------------- input

    def _read(self, X, purpose: str) -> tuple[list[np.ndarray | None], list[tuple[str, str]]]:
        """Decode every item at the working rate; a failed one is None (skip) or an error (raise)."""
        waves, skipped = [], []
        for i, item in enumerate(X):
            name = _item_name(item, i, purpose)
            try:
                waves.append(read_clip(item, self.sample_rate, self.max_seconds, name))
            except AudioError as err:
                self._skip_or_raise(err, skipped, name)
                waves.append(None)
        if skipped:
            log.warning("skipped %d unusable clip(s) of %d while reading %s data", len(skipped), len(waves), purpose)
        return waves, skipped

    def _padded(self, wave: np.ndarray) -> np.ndarray:
        minimum = int(MIN_SECONDS * self.sample_rate)
        return np.pad(wave, (0, minimum - len(wave))) if len(wave) < minimum else wave

    def _build_model(self) -> SpeechCTCModel:
        augmentation = SpeechAugmentation.of(self.augment)
        return SpeechCTCModel(len(self.vocabulary_), self.sample_rate, self.frontend, self.n_filters, self.width,
                              self.depth, self.dropout, time_masks=augmentation.time_masks if augmentation else 0,
                              freq_masks=augmentation.freq_masks if augmentation else 0, floor_db=FLOOR_DB)

    # ----------------------------------------------------------------- fit

    def fit(self, X, y, groups=None):
        """Learn from raw clips `X` and their transcripts `y`; `groups` (speakers) shape the validation split."""
        self._validate_params()
        if len(X) != len(y):
            raise DataError(None, f"{len(X)} clips but {len(y)} transcripts")
        return self._fit(X, y, groups)

    def _examples(self, X, y) -> tuple[list[np.ndarray], list[str], list[list[int]], list[int], list[tuple[str, str]]]:
        """The usable training pairs: waves (padded), texts, label sequences, their positions in X, and what was skipped."""
        waves, skipped = self._read(X, "training")
        examples = ([], [], [], [])
        for i, (wave, text) in enumerate(zip(waves, y)):
            if wave is None:
                continue
            name = _item_name(X[i], i, "training")
            source = f"transcript of {name}" if isinstance(X[i], (str, Path)) else f"transcript {i}"
            try:
                text = normalize_transcript(text, source=source)
                if not text:
                    raise DataError(source, "transcript is empty after normalisation")
                labels = self.vocabulary_.encode(text)
                padded = self._padded(wave)
                frames = -(-len(padded) // self.model_.samples_per_frame)
                if frames < ctc_frames_needed(labels):
                    raise too_short(name, len(wave) / self.sample_rate, len(text.split()), ctc_frames_needed(labels),
                                    frames, "CTC")
            except DataError as err:
                self._skip_or_raise(err, skipped, source)
                continue
            for column, value in zip(examples, (padded, text, labels, i)):
                column.append(value)
        return (*examples, skipped)

    def _fit(self, X, y, groups):
        from ..data.splits import validation_indices
        from ..nn import TrainConfig, train
        from ..nn.batching import length_bucketed_batches

        self.vocabulary_ = CharVocabulary()
        torch.manual_seed(self.seed)
        self.model_ = self._build_model()
        waves, texts, targets, keep, skipped = self._examples(X, y)
        if not keep:
            raise DataError(None, f"no usable training clips ({len(skipped)} skipped: "
                                  f"{'; '.join(f'{a}: {b}' for a, b in skipped[:5])})")
        self._record_skipped(skipped, "training clip")
        groups = None if groups is None else np.asarray(groups)[keep]

        fit_idx, val_idx = np.arange(len(keep)), np.array([], dtype=np.int64)
        if self.validation_fraction and len(keep) >= 20:
            fit_idx, val_idx = validation_indices((np.asarray(texts), groups), self.validation_fraction, self.seed, task="speech")
        augment = SpeechAugmentation.of(self.augment)
        train_data = ClipDataset([waves[i] for i in fit_idx], [targets[i] for i in fit_idx], augment)
        val_data = ClipDataset([waves[i] for i in val_idx], [targets[i] for i in val_idx]) if len(val_idx) else None

        max_samples = max(len(w) for w in train_data.waves)
        sampler = length_bucketed_batches([len(w) for w in train_data.waves],
                                          max(int(self._batch_seconds() * self.sample_rate), max_samples),
                                          self.batch_size, seed=self.seed)
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                             patience=self.patience, monitor="val_loss", device=self.device, seed=self.seed,
                             checkpoint_dir=self.checkpoint_dir, progress=self._show_progress())
        resume_key = self._run_key(waves, targets, val_idx) if self.checkpoint_dir else None
        result = train(self.model_, train_data, ctc_step, config, val_data=val_data, validate=ctc_validation(self.vocabulary_),
                       collate_fn=pad_batch, batch_sampler=sampler, resume_key=resume_key)
        self.model_.to("cpu").eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch

        self.lexicon_ = sorted({w for t in texts for w in t.split()} | self._extra_words())
        lm_order = CTCDecoding.of(self.decoder).lm_order
        self.lm_ = WordNgramLM.fit(texts, order=lm_order) if lm_order else None
        self._prepare_decoder()
        return self

    def _run_key(self, waves: list[np.ndarray], targets: list[list[int]], val_idx: np.ndarray) -> str:
        """What this run trains (data, held-out clips, alphabet, training parameters, seed), so that a
        checkpoint folder is resumed only by the run that wrote it."""
        from ..nn.fingerprint import run_fingerprint

        arrays = [*waves, *(np.asarray(t, dtype=np.int64) for t in targets), np.asarray(val_idx, dtype=np.int64)]
        return run_fingerprint(arrays, {"alphabet": self.vocabulary_.chars}, self.get_params(deep=False), NOT_TRAINING)

    def _extra_words(self) -> set[str]:
        if not self.words:
            return set()
        return {w for entry in self.words for w in normalize_transcript(entry, source="words").split()}

    def _prepare_decoder(self):
        self.trie_ = LexiconTrie(self.lexicon_, self.vocabulary_.encode)
        if self.lm_ is not None:
            self.lm_.add_words(self.lexicon_)

    # ----------------------------------------------------------------- inference

    def _posteriors(self, waves: list[np.ndarray | None], batch_seconds: float = 60.0) -> list[np.ndarray | None]:
        """Per-frame log-probabilities (T', V) of every clip, batched by length."""
        self._check_fitted()
        model = self.model_.eval()
        out: list[np.ndarray | None] = [None] * len(waves)
        order = sorted((i for i, w in enumerate(waves) if w is not None), key=lambda i: len(waves[i]))
        cap = batch_seconds * self.sample_rate
        start = 0
        with torch.no_grad():
            while start < len(order):
                stop = start + 1
                while stop < len(order) and len(waves[order[stop]]) * (stop - start + 1) <= cap:
                    stop += 1
                chunk = order[start:stop]
                batch, lengths, _ = pad_batch([(self._padded(waves[i]), None) for i in chunk])
                log_probs, frames = model(batch, lengths)
                for row, i in enumerate(chunk):
                    out[i] = log_probs[row, : int(frames[row])].numpy()
                start = stop
        return out

    def _decode(self, log_probs: np.ndarray) -> str:
        labels = CTCDecoding.of(self.decoder).decode(log_probs, self.trie_, self.vocabulary_.space, self.lm_)
        return " ".join(self.vocabulary_.decode(labels).split())

    def predict(self, X) -> list[str]:
        """The transcript of every clip ("" for a clip skipped under on_error="skip")."""
        self._check_fitted()
        posteriors = self._posteriors(self._read(X, "prediction")[0])
        return ["" if p is None else self._decode(p) for p in posteriors]

    def predict_details(self, X) -> list[dict]:
        """Transcripts with each word's start, end (seconds) and confidence, from CTC forced alignment."""
        self._check_fitted()
        frame_seconds = self.model_.samples_per_frame / self.sample_rate
        details = []
        for p in self._posteriors(self._read(X, "prediction")[0]):
            if p is None:
                details.append({"text": "", "words": [], "skipped": True})
                continue
            text = self._decode(p)
            details.append({"text": text, "words": word_timings(p, text, self.vocabulary_, frame_seconds)})
        return details

    # ----------------------------------------------------------------- stages

    @property
    def stages(self) -> list[Stage]:
        learned = self.frontend != "logmel"
        return [
            Stage("waveform", "input", f"mono waveform at {self.sample_rate} Hz, (N,)"),
            Stage("frontend", "learned" if learned else "fixed",
                  f"{'learned sinc band-pass' if learned else 'fixed log-mel'} filterbank energies, (F={self.n_filters}, T at 100/s)"),
            Stage("encoder", "learned", f"band-and-time convolutions + {self.depth}-layer BiGRU, (T/2, {2 * self.width})"),
            Stage("posteriors", "learned", f"CTC posteriors over blank + characters, (T/2, {len(CharVocabulary())})"),
            Stage("transcript", "output", f"words, {CTCDecoding.of(self.decoder).method} decoding"),
        ]

    def stage_outputs(self, item) -> dict:
        """Every stage's output for one clip, as NumPy arrays (the transcript as text)."""
        self._check_fitted()
        wave = read_clip(item, self.sample_rate, self.max_seconds, _item_name(item, 0, "explained"))
        wave = self._padded(wave)
        model = self.model_.eval()
        with torch.no_grad():
            batch, lengths, _ = pad_batch([(wave, None)])
            feats, frames = model.features(batch, lengths)
            encoded, out_frames = model.encode(feats, frames)
            log_probs = model.head(encoded).log_softmax(-1)[0, : int(out_frames[0])].numpy()
        return {
            "waveform": wave,
            "frontend": feats[0, :, : int(frames[0])].numpy(),
            "encoder": encoded[0, : int(out_frames[0])].numpy(),
            "posteriors": np.exp(log_probs),
            "transcript": self._decode(log_probs),
        }

    # ----------------------------------------------------------------- saving

    def _get_state(self) -> ModelState:
        self._check_fitted()
        arrays = {f"model.{k}": v.detach().cpu().numpy() for k, v in self.model_.state_dict().items()}
        meta = {"alphabet": self.vocabulary_.chars, "lexicon": list(self.lexicon_),
                "lm": self.lm_.to_json() if self.lm_ is not None else None,
                "history": self.history_, "best_epoch": self.best_epoch_,
                "skipped": [list(s) for s in self.skipped_]}
        return ModelState(meta=meta, arrays=arrays)

    @classmethod
    def _from_state(cls, params, state: ModelState):
        # e2elab.json holds the policy objects as plain dicts of their fields.
        augment, decoder = params["augment"], params["decoder"]
        est = cls(**{**params, "augment": SpeechAugmentation.from_dict(augment) if isinstance(augment, dict) else augment,
                     "decoder": CTCDecoding.from_dict(decoder) if isinstance(decoder, dict) else decoder})
        est.vocabulary_ = CharVocabulary(state.meta["alphabet"])
        est.model_ = est._build_model()
        weights = {k[len("model."):]: torch.from_numpy(np.array(v)) for k, v in state.arrays.items() if k.startswith("model.")}
        est.model_.load_state_dict(weights)
        est.model_.eval()
        est.lexicon_ = list(state.meta["lexicon"])
        est.lm_ = WordNgramLM.from_json(state.meta["lm"]) if state.meta.get("lm") else None
        est.history_ = state.meta["history"]
        est.best_epoch_ = state.meta["best_epoch"]
        est._record_skipped(state.meta["skipped"])
        est._prepare_decoder()
        return est

    def filter_bands(self) -> np.ndarray | None:
        """The learned filterbank's (low, high) cut-offs in Hz, (n_filters, 2); None for the fixed log-mel."""
        self._check_fitted()
        if not hasattr(self.model_.frontend, "cutoffs"):
            return None
        with torch.no_grad():
            low, high = self.model_.frontend.cutoffs()
        return np.stack([low.numpy(), high.numpy()], axis=1)

    def n_parameters(self) -> int:
        """Trainable parameters of the fitted network."""
        self._check_fitted()
        return sum(p.numel() for p in self.model_.parameters() if p.requires_grad)


