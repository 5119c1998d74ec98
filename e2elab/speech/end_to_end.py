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
from ..nn.fine_tuning import FineTuning
from ..nn.pseudo_labels import labelled_mask
from ..nn.validation import Validation
from ..params import DEVICE, Choice, Int, Real, flat_params, params_from_saved
from ..registry import register_pipeline
from .augment import SpeechAugmentation
from .clip_stream import ClipFeed
from .clips import ctc_frames_needed, read_clip, too_short
from .ctc import CharVocabulary, word_timings
from .ctc_batches import ctc_step, ctc_validation, pad_batch
from .ctc_decode import LexiconTrie, WordNgramLM
from .ctc_decoding import DECODERS, CTCDecoding
from .model import SpeechCTCModel
from .semi_supervised import fit_with_unlabeled_clips

log = logging.getLogger(__name__)

MIN_SECONDS = 0.25  # shorter clips are padded with silence so CTC has frames for every character
FLOOR_DB = 30.0  # band energies are floored this far below the clip's mean, hiding a quiet recording's hiss
# A training batch holds at most `batch_size` clips and at most this much padded audio per clip of
# `batch_size`, never under MIN_BATCH_SECONDS: long clips then come in smaller batches.
SECONDS_PER_BATCH_CLIP = 0.75
MIN_BATCH_SECONDS = 24.0
# Parameters that do not change what the network learns: a checkpoint folder written under other
# values of these is still the same run (decoding happens after training).
NOT_TRAINING = {"device", "checkpoint_dir", "progress", "decoder", "words", "num_workers", "cache_dir"}
# The settings that shape the network: a model fine-tuned from another (init_from) must share them.
ARCHITECTURE = ("sample_rate", "frontend", "n_filters", "width", "depth")


def _item_name(item, index: int, purpose: str) -> str:
    return str(item) if isinstance(item, (str, Path)) else f"{purpose} item {index}"


@register_pipeline("speech", "end-to-end")
class EndToEndSpeechRecognizer(SpeechRecognizerMixin, BaseEstimator):
    """A CTC speech recogniser trained from the waveform up.

    Parameters
    ----------
    sample_rate : int, default=8000
        Working rate in Hz (clips are resampled): 8 kHz suits telephone-band digits.
    frontend, n_filters : {"sinc", "logmel"}, int, default="sinc", 40
        "sinc": learned band-pass filters initialised on the mel scale; "logmel": the fixed,
        hand-made filterbank, to compare learned against fixed features; and its bands.
    width, depth : int, default=128, 2
        Units of each direction of the BiGRU encoder, and its layers.
    dropout : float, default=0.15
        Dropout between the encoder's layers and before the output layer.
    epochs, min_updates : int or None, default=None, None
        Passes over the training clips (None: 8), raised to make at least `min_updates` optimiser
        updates (None: 600 when `epochs` is None, else no floor; :mod:`e2elab.nn.schedule`).
    batch_size : int, default=32
        Clips per batch (of similar lengths).
    lr, weight_decay : float, default=3e-3, 5e-4
        Peak learning rate of the one-cycle schedule (AdamW), and AdamW's weight decay.
    validation : float or Validation, default=0.0
        Share of whole speakers (from `groups`) held out to pick the best epoch, or a
        :class:`~e2elab.nn.validation.Validation` that also stops training early. With a handful
        of speakers, holding one out costs more than early stopping gains.
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
    checkpoint_dir, progress : str or None, bool or None, default=None, None
        Folder for per-epoch checkpoints (a rerun of the same run resumes from it), and progress
        bars while training (None: in a terminal or a notebook).
    init_from : str, path, FineTuning or None, default=None
        A saved end-to-end speech model (folder) to fine-tune, with the same `sample_rate`,
        `frontend`, `n_filters`, `width` and `depth` (rows of characters it knows are kept), or a
        :class:`~e2elab.nn.fine_tuning.FineTuning` that also freezes or slows all but its output layer.
    num_workers, cache_dir : int, str or None, default=0, None
        Loader processes and a folder of decoded clips; either streams clips from disk (:mod:`e2elab.speech.clip_stream`).
    semi_supervised : {"self_training"} or None, default=None
        What unlabeled training clips (transcript None, -1 or blank) are for (:mod:`e2elab.speech.semi_supervised`).
    seed : int, default=0
        Seeds the initialisation, batch order, augmentation and validation split.
    """

    _parameter_constraints = {
        "sample_rate": [Int(4000)], "frontend": [Choice("sinc", "logmel")], "n_filters": [Int(1)],
        "width": [Int(1)], "depth": [Int(1)], "dropout": [Real(0, 1, closed="left")], "epochs": [Int(1), None],
        "min_updates": [Int(0), None], "batch_size": [Int(1)], "lr": [Real(0, closed="neither")], "weight_decay": [Real(0)],
        "validation": [Real(0, 1, closed="left"), Validation],
        "augment": ["boolean", SpeechAugmentation, None], "decoder": [Choice(*DECODERS), CTCDecoding],
        "words": [list, tuple, set, None], "max_seconds": [Real(0, closed="neither"), None],
        "on_error": [Choice("raise", "skip")], "device": [DEVICE], "checkpoint_dir": [str, os.PathLike, None],
        "progress": ["boolean", None], "init_from": [str, os.PathLike, FineTuning, None], "seed": [Int(0)],
        "num_workers": [Int(0)], "cache_dir": [str, os.PathLike, None], "semi_supervised": [Choice("self_training"), None],
    }

    def __init__(self, sample_rate=8000, frontend="sinc", n_filters=40, width=128, depth=2, dropout=0.15,
                 epochs=None, min_updates=None, batch_size=32, lr=3e-3, weight_decay=5e-4, validation=0.0,
                 augment=True, decoder="lexicon", words=None, max_seconds=30.0,
                 on_error="raise", device="auto", checkpoint_dir=None, progress=None, init_from=None,
                 num_workers=0, cache_dir=None, semi_supervised=None, seed=0):
        self.sample_rate = sample_rate
        self.frontend = frontend
        self.n_filters = n_filters
        self.width = width
        self.depth = depth
        self.dropout = dropout
        self.epochs = epochs
        self.min_updates = min_updates
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation = validation
        self.augment = augment
        self.decoder = decoder
        self.words = words
        self.max_seconds = max_seconds
        self.on_error = on_error
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        self.init_from = init_from
        self.num_workers = num_workers
        self.cache_dir = cache_dir
        self.semi_supervised = semi_supervised
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
        from ..data.splits import validation_indices
        from ..nn import TrainConfig, train
        from ..nn.init_from import fine_tuning_config, fine_tuning_source, start_from
        from ..nn.schedule import MIN_TRAINING_CLIPS, training_length, warn_if_small

        self._validate_params()
        if len(X) != len(y):
            raise DataError(None, f"{len(X)} clips but {len(y)} transcripts")
        if not (labelled := labelled_mask(y)).all():  # clips without a transcript: `semi_supervised` says what for
            return fit_with_unlabeled_clips(self, X, y, groups, labelled)
        source = fine_tuning_source(self, ARCHITECTURE)
        self.vocabulary_ = CharVocabulary()
        torch.manual_seed(self.seed)
        self.model_ = self._build_model()
        if source is not None:  # the blank (None) keeps its row; characters are matched by what they are
            start_from(self.model_, source.model_, [None, *self.vocabulary_.chars], [None, *source.vocabulary_.chars],
                       FineTuning.of(self.init_from).source, "alphabet's characters", must_share=True)
        feed = ClipFeed(self, X)  # decoded into memory, or streamed from disk while training
        waves, texts, targets, keep, skipped = self._examples(X, y, feed)
        if not keep:
            raise DataError(None, f"no usable training clips ({len(skipped)} skipped: "
                                  f"{'; '.join(f'{a}: {b}' for a, b in skipped[:5])})")
        self._record_skipped(skipped, "training clip")
        if source is None:
            warn_if_small(len(keep), MIN_TRAINING_CLIPS, "training clips")
        groups = None if groups is None else np.asarray(groups)[keep]

        fit_idx, val_idx = np.arange(len(keep)), np.array([], dtype=np.int64)
        validation = Validation.of(self.validation)
        if validation.fraction and len(keep) >= 20:
            fit_idx, val_idx = validation_indices((np.asarray(texts), groups), validation.fraction, self.seed, task="speech")
        train_data, val_data, sampler = feed.datasets(waves, targets, fit_idx, val_idx)
        epochs, min_updates = training_length(self.epochs, self.min_updates, default_epochs=8)
        config = TrainConfig(epochs=epochs, min_updates=min_updates, batch_size=self.batch_size, lr=self.lr,
                             weight_decay=self.weight_decay, patience=validation.patience, monitor="val_loss",
                             device=self.device, seed=self.seed, checkpoint_dir=self.checkpoint_dir, num_workers=self.num_workers,
                             progress=self._show_progress(), **fine_tuning_config(self))
        resume_key = self._run_key(feed.fingerprinted(waves), targets, val_idx) if self.checkpoint_dir else None
        result = train(self.model_, train_data, feed.step(ctc_step), config, val_data=val_data,
                       validate=feed.validate(ctc_validation(self.vocabulary_)), collate_fn=feed.collate(pad_batch),
                       batch_sampler=sampler, resume_key=resume_key)
        self._record_skipped(skipped + feed.skipped)  # with the clips that failed to decode mid-epoch (on_error="skip")
        self.model_.to("cpu").eval()
        self.history_, self.best_epoch_ = result.history, result.best_epoch

        extra_words = {w for entry in self.words or () for w in normalize_transcript(entry, source="words").split()}
        self.lexicon_ = sorted({w for t in texts for w in t.split()} | extra_words)
        lm_order = CTCDecoding.of(self.decoder).lm_order
        self.lm_ = WordNgramLM.fit(texts, order=lm_order) if lm_order else None
        self._prepare_decoder()
        return self

    def _examples(self, X, y, feed: ClipFeed) -> tuple[list, list[str], list[list[int]], list[int], list[tuple[str, str]]]:
        """The usable training pairs: waves (padded), texts, label sequences, their positions in X, and what was skipped."""
        waves, skipped = feed.read(X, lambda item, i: _item_name(item, i, "training"))
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
                    raise too_short(name, len(wave) / self.sample_rate, len(text.split()), ctc_frames_needed(labels), frames, "CTC")
            except DataError as err:
                self._skip_or_raise(err, skipped, source)
                continue
            for column, value in zip(examples, (padded, text, labels, i)):
                column.append(value)
        return (*examples, skipped)

    def _run_key(self, waves: list[np.ndarray], targets: list[list[int]], val_idx: np.ndarray) -> str:
        """What this run trains (data, held-out clips, alphabet, parameters, seed): its checkpoints' key."""
        from ..nn.fingerprint import run_fingerprint

        arrays = [*waves, *(np.asarray(t, dtype=np.int64) for t in targets), np.asarray(val_idx, dtype=np.int64)]
        return run_fingerprint(arrays, {"alphabet": self.vocabulary_.chars}, flat_params(self), NOT_TRAINING)

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
        # e2elab.json holds the policy and settings objects as plain dicts of their fields.
        params = params_from_saved(cls, params)
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
        est.history_, est.best_epoch_ = state.meta["history"], state.meta["best_epoch"]
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


