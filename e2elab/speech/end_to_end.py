"""End-to-end speech recognition: waveform -> learned filterbank -> encoder -> CTC -> transcript.

One network is trained from (clip, transcript) pairs alone: no phone set, no pronunciation
lexicon, no hand-made features. Decoding is greedy, open-vocabulary prefix beam search, or
(the default) beam search constrained to the words seen in training (plus any `words` given),
with a word n-gram language model estimated from the training transcripts.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ..base import ModelState, SpeechRecognizerMixin, Stage
from ..data.audio import DEFAULT_SAMPLE_RATE, as_waveform
from ..data.text import normalize_transcript
from ..errors import AudioError, DataError
from ..registry import register_pipeline
from .augment import WaveAugment
from .ctc import CharVocabulary, ctc_loss, greedy_decode, word_timings
from .ctc_decode import LexiconTrie, WordNgramLM, lexicon_beam_search, prefix_beam_search
from .frontend import check_normalisation
from .model import SpeechCTCModel, check_subsample

log = logging.getLogger(__name__)

DECODERS = ("greedy", "beam", "lexicon")
MIN_SECONDS = 0.25  # shorter clips are padded with silence so CTC has frames for every character


class _Clips(torch.utils.data.Dataset):
    """Decoded clips in memory with their label sequences; augmented when `augment` is set."""

    def __init__(self, waves, targets, augment: WaveAugment | None = None):
        self.waves, self.targets, self.augment = waves, targets, augment

    def __len__(self):
        return len(self.waves)

    def __getitem__(self, i):
        wave = self.waves[i]
        if self.augment is not None:
            # Drawn from torch's generator, which the training loop re-seeds every epoch.
            rng = np.random.default_rng(int(torch.randint(0, 2**62, ())))
            wave = self.augment(wave, rng)
        return wave, self.targets[i]


def _pad_batch(items):
    """[(wave, labels)] -> waves (B, N) zero-padded, lengths (B,), label lists."""
    lengths = torch.tensor([len(w) for w, _ in items], dtype=torch.long)
    waves = torch.zeros(len(items), int(lengths.max()))
    for row, (wave, _) in enumerate(items):
        waves[row, : len(wave)] = torch.from_numpy(np.asarray(wave, dtype=np.float32))
    return waves, lengths, [t for _, t in items]


@contextlib.contextmanager
def _torch_threads(n: int | None):
    """Run with `n` torch threads (None: leave torch's setting), restoring the old count after."""
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _ctc_step(module, batch, device):
    waves, lengths, targets = batch
    log_probs, frames = module(waves.to(device), lengths.to(device))  # (B, T', V)
    return ctc_loss(log_probs, frames, targets)


@register_pipeline("speech", "end-to-end")
class EndToEndSpeechRecognizer(SpeechRecognizerMixin, BaseEstimator):
    """A CTC speech recogniser trained from the waveform up.

    Parameters, in groups:
      input        sample_rate (working rate; 8 kHz suits telephone-band digits), max_seconds,
                   on_error ("raise" or "skip": unusable clips are skipped and counted)
      front-end    frontend ("sinc": learned mel-initialised band-pass filters; "logmel": the
                   fixed ablation), n_filters, floor_db (energies are floored this far below the
                   clip's mean before the log, hiding recording hiss; None: no floor), normalise
                   ("clip": level and spread over the whole clip; "tilt": also the clip's
                   spectral slope; "band": per band, which also removes a short clip's vowel colour)
      encoder      subsample ("conv1d": convolutions over time, every band a channel; "conv2d":
                   convolutions over band and time with pooling over neighbouring bands, so
                   that a formant shifted by a band or two looks the same), width, depth
                   (BiGRU layers), dropout
      training     epochs, batch_size, batch_seconds (cap on padded audio per batch), lr,
                   weight_decay, patience, validation_fraction (whole speakers, from `groups`,
                   held out to pick the best epoch and stop early; the default 0 trains on
                   everything and keeps the last epoch: with a handful of speakers, holding one
                   out costs more than early stopping gains, and the one-cycle schedule ends at
                   a tiny learning rate, so the last epoch is a good one)
      augmentation speed, eq_db, noise_snr_db, gain_db (waveform); time_masks, freq_masks
                   (on the front-end output); `augment=False` switches all of them off
      decoding     decoder ("greedy", "beam", "lexicon"), beam_width, words (extra allowed
                   words), lm_order (0: no language model), lm_weight, word_bonus
      run          device, num_threads, checkpoint_dir (resume), seed, verbose
    """

    def __init__(self, sample_rate=8000, frontend="sinc", n_filters=40, floor_db=30.0, normalise="tilt",
                 subsample="conv2d", width=128, depth=2, dropout=0.15,
                 epochs=8, batch_size=32, batch_seconds=24.0, lr=3e-3, weight_decay=5e-4, patience=None,
                 validation_fraction=0.0, augment=True, speed=0.1, eq_db=8.0, noise_snr_db=10.0, gain_db=10.0,
                 time_masks=2, freq_masks=2, decoder="lexicon", beam_width=8, words=None, lm_order=2,
                 lm_weight=0.5, word_bonus=0.0, max_seconds=30.0, on_error="raise", device="auto",
                 num_threads=None, checkpoint_dir=None, seed=0, verbose=False):
        self.sample_rate = sample_rate
        self.frontend = frontend
        self.n_filters = n_filters
        self.floor_db = floor_db
        self.normalise = normalise
        self.subsample = subsample
        self.width = width
        self.depth = depth
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.augment = augment
        self.speed = speed
        self.eq_db = eq_db
        self.noise_snr_db = noise_snr_db
        self.gain_db = gain_db
        self.time_masks = time_masks
        self.freq_masks = freq_masks
        self.decoder = decoder
        self.beam_width = beam_width
        self.words = words
        self.lm_order = lm_order
        self.lm_weight = lm_weight
        self.word_bonus = word_bonus
        self.max_seconds = max_seconds
        self.on_error = on_error
        self.device = device
        self.num_threads = num_threads
        self.checkpoint_dir = checkpoint_dir
        self.seed = seed
        self.verbose = verbose

    # ----------------------------------------------------------------- input

    def _read(self, X, purpose: str) -> tuple[list[np.ndarray | None], list[tuple[str, str]]]:
        """Decode every item at the working rate; a failed one is None (skip) or an error (raise)."""
        if self.on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {self.on_error!r}")
        waves, skipped = [], []
        minimum = int(MIN_SECONDS * self.sample_rate)
        for i, item in enumerate(X):
            name = str(item) if isinstance(item, (str, Path)) else f"{purpose} item {i}"
            try:
                if not isinstance(item, (str, Path, tuple)):
                    item = (item, DEFAULT_SAMPLE_RATE)  # a bare array is 16 kHz by contract
                if isinstance(item, tuple) and self.max_seconds and len(item[0]) > self.max_seconds * int(item[1]):
                    raise AudioError(name, f"clip is {len(item[0]) / int(item[1]):.1f} s long, over the limit of {self.max_seconds:g} s")
                wave = as_waveform(item, self.sample_rate, max_seconds=self.max_seconds)
            except AudioError as err:
                if self.on_error == "raise":
                    if err.source is None:
                        raise AudioError(name, err.reason) from None
                    raise
                skipped.append((name, err.reason))
                waves.append(None)
                continue
            if len(wave) < minimum:
                wave = np.pad(wave, (0, minimum - len(wave)))
            waves.append(wave)
        if skipped:
            log.warning("skipped %d unusable clip(s) of %d while reading %s data", len(skipped), len(waves), purpose)
        return waves, skipped

    def _check_params(self):
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, not {self.decoder!r}")
        if self.frontend not in ("sinc", "logmel"):
            raise ValueError(f"frontend must be 'sinc' or 'logmel', not {self.frontend!r}")
        check_normalisation(self.normalise)  # both before any audio is read
        check_subsample(self.subsample)

    def _build_model(self) -> SpeechCTCModel:
        masks = bool(self.augment)
        return SpeechCTCModel(len(self.vocabulary_), self.sample_rate, self.frontend, self.n_filters, self.width,
                              self.depth, self.dropout, time_masks=self.time_masks if masks else 0,
                              freq_masks=self.freq_masks if masks else 0, floor_db=self.floor_db, normalise=self.normalise,
                              subsample=self.subsample)

    # ----------------------------------------------------------------- fit

    def fit(self, X, y, groups=None):
        """Learn from raw clips `X` and their transcripts `y`; `groups` (speakers) shape the validation split."""
        self._check_params()
        if len(X) != len(y):
            raise ValueError(f"{len(X)} clips but {len(y)} transcripts")
        with _torch_threads(self.num_threads):
            return self._fit(X, y, groups)

    def _fit(self, X, y, groups):
        from ..data.splits import validation_indices
        from ..nn import TrainConfig, train
        from ..nn.batching import length_bucketed_batches

        self.vocabulary_ = CharVocabulary()
        waves, skipped = self._read(X, "training")
        texts, targets, keep = [], [], []
        for i, (wave, text) in enumerate(zip(waves, y)):
            if wave is None:
                continue
            source = f"transcript of {X[i]}" if isinstance(X[i], (str, Path)) else f"transcript {i}"
            try:
                text = normalize_transcript(text, source=source)
                if not text:
                    raise DataError(source, "transcript is empty after normalisation")
            except DataError as err:
                if self.on_error == "raise":
                    raise
                skipped.append((source, err.reason))
                continue
            texts.append(text)
            targets.append(self.vocabulary_.encode(text))
            keep.append(i)
        if not keep:
            raise DataError(None, "no usable training clips")
        self.skipped_ = skipped
        self.n_skipped_ = len(skipped)
        waves = [waves[i] for i in keep]
        groups = None if groups is None else np.asarray(groups)[keep]

        fit_idx, val_idx = np.arange(len(keep)), np.array([], dtype=np.int64)
        if self.validation_fraction and len(keep) >= 20:
            fit_idx, val_idx = validation_indices((np.asarray(texts), groups), self.validation_fraction, self.seed, task="speech")
        augment = WaveAugment(self.speed or 0.0, self.eq_db, self.noise_snr_db, self.gain_db) if self.augment else None
        train_data = _Clips([waves[i] for i in fit_idx], [targets[i] for i in fit_idx], augment)
        val_data = _Clips([waves[i] for i in val_idx], [targets[i] for i in val_idx]) if len(val_idx) else None

        torch.manual_seed(self.seed)
        self.model_ = self._build_model()
        max_samples = max(len(w) for w in train_data.waves)
        sampler = length_bucketed_batches([len(w) for w in train_data.waves],
                                          max(int(self.batch_seconds * self.sample_rate), max_samples),
                                          self.batch_size, seed=self.seed)
        config = TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                             patience=self.patience, monitor="val_loss", device=self.device, seed=self.seed,
                             checkpoint_dir=self.checkpoint_dir, progress=bool(self.verbose))
        result = train(self.model_, train_data, _ctc_step, config, val_data=val_data, validate=self._validate,
                       collate_fn=_pad_batch, batch_sampler=sampler)
        self.model_.to("cpu").eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch

        self.lexicon_ = sorted({w for t in texts for w in t.split()} | self._extra_words())
        self.lm_ = WordNgramLM.fit(texts, order=self.lm_order) if self.lm_order else None
        self._prepare_decoder()
        return self

    def _extra_words(self) -> set[str]:
        if not self.words:
            return set()
        return {w for entry in self.words for w in normalize_transcript(entry, source="words").split()}

    def _validate(self, module, loader, device) -> dict[str, float]:
        """Validation CTC loss and greedy word error rate."""
        from ..base import word_error_rate

        losses, refs, hyps = [], [], []
        for waves, lengths, targets in loader:
            log_probs, frames = module(waves.to(device), lengths.to(device))
            losses.append(float(ctc_loss(log_probs, frames, targets)))
            for row, target in enumerate(targets):
                refs.append(self.vocabulary_.decode(target))
                hyps.append(self.vocabulary_.decode(greedy_decode(log_probs[row, : int(frames[row])].float().cpu().numpy())))
        return {"val_loss": float(np.mean(losses)), "val_wer": word_error_rate(refs, hyps)}

    def _prepare_decoder(self):
        self.trie_ = LexiconTrie(self.lexicon_, self.vocabulary_.encode)
        if self.lm_ is not None:
            self.lm_.add_words(self.lexicon_)

    # ----------------------------------------------------------------- inference

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def _posteriors(self, waves: list[np.ndarray | None], batch_seconds: float = 60.0) -> list[np.ndarray | None]:
        """Per-frame log-probabilities (T', V) of every clip, batched by length."""
        self._check_fitted()
        model = self.model_.eval()
        out: list[np.ndarray | None] = [None] * len(waves)
        order = sorted((i for i, w in enumerate(waves) if w is not None), key=lambda i: len(waves[i]))
        cap = batch_seconds * self.sample_rate
        start = 0
        with torch.no_grad(), _torch_threads(self.num_threads):
            while start < len(order):
                stop = start + 1
                while stop < len(order) and len(waves[order[stop]]) * (stop - start + 1) <= cap:
                    stop += 1
                chunk = order[start:stop]
                batch, lengths, _ = _pad_batch([(waves[i], None) for i in chunk])
                log_probs, frames = model(batch, lengths)
                for row, i in enumerate(chunk):
                    out[i] = log_probs[row, : int(frames[row])].numpy()
                start = stop
        return out

    def _decode(self, log_probs: np.ndarray) -> str:
        if self.decoder == "greedy":
            labels = greedy_decode(log_probs)
        elif self.decoder == "beam":
            labels = prefix_beam_search(log_probs, self.beam_width)[0][0]
        else:
            found = lexicon_beam_search(log_probs, self.trie_, self.vocabulary_.space, self.lm_, self.lm_weight,
                                        self.word_bonus, self.beam_width)
            labels = found[0][0] if found else greedy_decode(log_probs)
        return " ".join(self.vocabulary_.decode(labels).split())

    def predict(self, X) -> list[str]:
        """The transcript of every clip ("" for a clip skipped under on_error="skip")."""
        posteriors = self._posteriors(self._read(X, "prediction")[0])
        return ["" if p is None else self._decode(p) for p in posteriors]

    def predict_details(self, X) -> list[dict]:
        """Transcripts with each word's start, end (seconds) and confidence, from CTC forced alignment."""
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
            Stage("encoder", "learned", f"{self.subsample} subsampling + {self.depth}-layer BiGRU, (T/2, {2 * self.width})"),
            Stage("posteriors", "learned", f"CTC posteriors over blank + characters, (T/2, {len(CharVocabulary())})"),
            Stage("transcript", "output", f"words, {self.decoder} decoding"),
        ]

    def stage_outputs(self, item) -> dict:
        """Every stage's output for one clip, as NumPy arrays (the transcript as text)."""
        self._check_fitted()
        wave = self._read([item], "explained")[0][0]
        if wave is None:
            raise AudioError(str(item) if isinstance(item, (str, Path)) else None, "clip could not be read")
        model = self.model_.eval()
        with torch.no_grad():
            batch, lengths, _ = _pad_batch([(wave, None)])
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
                "history": self.history_, "best_epoch": self.best_epoch_, "n_skipped": self.n_skipped_}
        return ModelState(meta=meta, arrays=arrays)

    @classmethod
    def _from_state(cls, params, state: ModelState):
        # Models saved before `normalise` existed normalised every band on its own; those saved
        # before `subsample` existed convolved over time only.
        est = cls(**{"normalise": "band", "subsample": "conv1d", **params})
        est.vocabulary_ = CharVocabulary(state.meta["alphabet"])
        est.model_ = est._build_model()
        weights = {k[len("model."):]: torch.from_numpy(np.array(v)) for k, v in state.arrays.items() if k.startswith("model.")}
        est.model_.load_state_dict(weights)
        est.model_.eval()
        est.lexicon_ = list(state.meta["lexicon"])
        est.lm_ = WordNgramLM.from_json(state.meta["lm"]) if state.meta.get("lm") else None
        est.history_ = state.meta.get("history", [])
        est.best_epoch_ = state.meta.get("best_epoch", 0)
        est.n_skipped_ = state.meta.get("n_skipped", 0)
        est.skipped_ = []
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


