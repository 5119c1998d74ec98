"""The traditional speech recogniser: MFCC -> phone GMM-HMMs -> lexicon -> word decoder.

The multi-stage pipeline that end-to-end recognition replaced. Each clip becomes MFCC + deltas
with CMVN; phone HMMs with diagonal GMM emissions are trained from transcripts only (flat
start, embedded re-estimation through each utterance's words and their pronunciations); a
Viterbi beam search over a word loop with a bigram LM from the training transcripts turns new
clips into words, phones and times.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator

from ..base import ModelState, SpeechRecognizerMixin, Stage
from ..errors import DataError
from ..nn.pseudo_labels import labelled_indices, labelled_mask
from ..params import Choice, Int, Real
from ..registry import register_pipeline
from .clips import read_clip, too_short
from .hmm_decode import BigramLM, build_graph, phone_posteriors, segment, viterbi_decode
from .feature_store import FeatureStore
from .features import MfccConfig, add_deltas, cmvn, mfcc, working_rate
from .gmm import DiagGMMBank
from .lexicon import SILENCE, Lexicon, LexiconError, transcript_words
from .hmm_training import PhoneModel, train, utterance_units


def _nothing_usable(skipped: list[tuple[str, str]]) -> DataError:
    return DataError(None, f"no usable training utterance ({len(skipped)} skipped: "
                           f"{'; '.join(f'{item}: {reason}' for item, reason in skipped[:5])})")


class _Subset(Sequence):
    """Some of a FeatureStore's utterances, in order, with their lengths known without reading them."""

    def __init__(self, store: FeatureStore, positions: list[int]):
        self.store, self.positions = store, positions
        self.lengths = store.lengths[positions]

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index):
        return self.store[self.positions[index]]


def _name(item, index: int) -> str:
    return str(item) if isinstance(item, (str, bytes)) or hasattr(item, "__fspath__") else f"item {index}"


@register_pipeline("speech", "traditional")
class TraditionalSpeechRecognizer(SpeechRecognizerMixin, BaseEstimator):
    """Phone GMM-HMM recogniser trained from (clip, transcript) pairs.

    Parameters
    ----------
    sample_rate: working rate; clips are resampled to it. "auto": the training clips' most common
        native rate, at most 16 kHz (8 kHz telephone-band clips are analysed at 8 kHz, where a 16 kHz
        filterbank would spend half its bands on empty spectrum); learned as `sample_rate_`.
    n_mfcc, n_mels, c0: cepstra (C0 included), mel filters, "cepstral" C0 or frame "energy".
    cmvn: "speaker" (pooled over the `groups` passed to fit/predict; per utterance without
        them), "utterance" or "none"; cmvn_variance also normalises the variance.
    lexicon: a Kaldi ``lexicon.txt`` path (or {word: phones}) overriding CMUdict.
    oov: "letters" spells words in no lexicon from their letters (with a warning); "skip" drops
        utterances that contain them.
    silence: optional silence "optional" (between words too), "edges" or "none".
    n_states, n_mixtures: emitting states per phone, Gaussians per state after splitting.
    training: "baum-welch" or "viterbi" re-estimation; flat_passes at one Gaussian, then
        passes_per_split after each split; var_floor is the variance floor as a fraction of the
        global variance.
    lm: "bigram" (from training transcripts) or "loop"; lm_weight, insertion_penalty and beam
        (log-likelihood units) steer the decoder.
    batch_size, n_jobs: utterances per vectorised E-step batch, and joblib threads over batches.
    feature_memory: MB of features held in memory; a corpus with more goes to a temporary file
        (TMPDIR) read back a batch at a time, so training memory stays bounded (None: no limit).
    max_seconds: longest clip accepted (None: no limit), in training, prediction and explanations.
    on_error: "raise" on an unusable training utterance, or "skip" it (counted in `n_skipped_`).
    progress: print what training does, step by step (None: when a terminal or notebook shows it).

    No `seed`: training is deterministic (a flat start, then each split Gaussian's means moved by a fixed
    fraction of a standard deviation).
    """

    _parameter_constraints = {
        "sample_rate": [Int(4000), Choice("auto")], "n_mfcc": [Int(1)], "n_mels": [Int(1)], "c0": [Choice("cepstral", "energy")],
        "cmvn": [Choice("speaker", "utterance", "none")], "cmvn_variance": ["boolean"],
        "lexicon": [str, os.PathLike, dict, None], "oov": [Choice("letters", "skip")],
        "silence": [Choice("optional", "edges", "none")], "n_states": [Int(1)], "n_mixtures": [Int(1)],
        "training": [Choice("baum-welch", "viterbi")], "flat_passes": [Int(1)], "passes_per_split": [Int(1)],
        "var_floor": [Real(0, 1, closed="right")], "lm": [Choice("bigram", "loop")], "lm_weight": [Real(0)],
        "insertion_penalty": [Real()], "beam": [Real(0, closed="neither")], "batch_size": [Int(1)],
        "n_jobs": [Int(1), Int(None, -1), None], "feature_memory": [Real(0, closed="neither"), None], "max_seconds": [Real(0, closed="neither"), None],
        "on_error": [Choice("raise", "skip")], "progress": ["boolean", None],
    }

    def __init__(self, sample_rate="auto", n_mfcc=13, n_mels=26, c0="cepstral", cmvn="speaker", cmvn_variance=False,
                 lexicon=None, oov="letters", silence="optional", n_states=3, n_mixtures=8, training="baum-welch",
                 flat_passes=4, passes_per_split=2, var_floor=0.01, lm="bigram", lm_weight=1.0, insertion_penalty=0.0,
                 beam=500.0, batch_size=64, n_jobs=1, feature_memory=1024, max_seconds=30.0, on_error="raise", progress=None):
        self.sample_rate = sample_rate
        self.n_mfcc = n_mfcc
        self.n_mels = n_mels
        self.c0 = c0
        self.cmvn = cmvn
        self.cmvn_variance = cmvn_variance
        self.lexicon = lexicon
        self.oov = oov
        self.silence = silence
        self.n_states = n_states
        self.n_mixtures = n_mixtures
        self.training = training
        self.flat_passes = flat_passes
        self.passes_per_split = passes_per_split
        self.var_floor = var_floor
        self.lm = lm
        self.lm_weight = lm_weight
        self.insertion_penalty = insertion_penalty
        self.beam = beam
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.feature_memory = feature_memory
        self.max_seconds = max_seconds
        self.on_error = on_error
        self.progress = progress

    # ---- features -------------------------------------------------------------------------
    def _mfcc_config(self) -> MfccConfig:
        return MfccConfig(sample_rate=self.working_sample_rate(), n_mfcc=int(self.n_mfcc), n_mels=int(self.n_mels), c0=self.c0)

    def _clip_features(self, signal: np.ndarray) -> np.ndarray:
        """MFCC + deltas of one waveform, before CMVN, (T, D): computed as each clip is read, so that
        memory holds one waveform at a time (at most `max_seconds` long) and the features of all."""
        return add_deltas(mfcc(signal, self._mfcc_config()).astype(np.float64))

    def _normalised(self, features: list[np.ndarray], groups=None) -> list[np.ndarray]:
        if self.cmvn == "none":
            return features
        return cmvn(features, groups if self.cmvn == "speaker" else None, variance=self.cmvn_variance)

    def _feature_store(self) -> FeatureStore:
        limit = None if self.feature_memory is None else int(float(self.feature_memory) * 2**20)
        return FeatureStore(limit)

    def _normalise_store(self, store: FeatureStore, groups=None) -> FeatureStore:
        """CMVN as `_normalised` does, applied as the store's utterances are read."""
        if self.cmvn != "none":
            store.normalise(groups if self.cmvn == "speaker" else None, variance=self.cmvn_variance)
        return store

    def _read(self, item, name: str) -> np.ndarray:
        return read_clip(item, self.working_sample_rate(), self.max_seconds, name)

    def working_sample_rate(self) -> int:
        """The working rate: learned in fit when `sample_rate` is "auto"."""
        return int(getattr(self, "sample_rate_", self.sample_rate))

    def _log(self, message: str) -> None:
        if self._show_progress():
            print(f"[traditional] {message}", flush=True)

    # ---- training -------------------------------------------------------------------------
    def fit(self, X, y, groups=None):
        """Train from clips `X` and their transcripts `y`; `groups` (speakers) pool the CMVN.

        An utterance that cannot be used (unreadable, empty or over-long clip, a word no lexicon
        can pronounce, a clip too short for its transcript) raises a DataError naming it, or with
        on_error="skip" is skipped and counted in `n_skipped_`, its reason in `skipped_`.
        Utterances with words outside the lexicon are skipped under oov="skip" whatever on_error says.
        Clips without a transcript (None, -1 or blank: unlabeled) are left out with a warning.
        """
        self._validate_params()
        started = time.perf_counter()
        X, y = list(X), list(y)
        if len(X) != len(y):
            raise DataError(None, f"got {len(X)} clips but {len(y)} transcripts")
        groups = None if groups is None else list(groups)
        kept = labelled_indices(labelled_mask(y), "training clips", "give transcripts for some of them",
                                "the traditional pipeline learns from transcribed clips only")
        X, y, groups = [X[i] for i in kept], [y[i] for i in kept], None if groups is None else [groups[i] for i in kept]
        self.sample_rate_ = working_rate(X) if self.sample_rate == "auto" else int(self.sample_rate)
        skipped: list[tuple[str, str]] = []
        with self._feature_store() as store:
            keep, seconds, word_lists, pronunciations = self._read_training_clips(X, y, store, skipped)
            self._normalise_store(store, None if groups is None else [groups[i] for i in keep])
            used = {w for words in word_lists for w in words}
            self.words_ = sorted(used)
            self.pronunciations_ = {w: pronunciations[w] for w in self.words_}
            self.phones_ = sorted({p for w in self.words_ for p in self.pronunciations_[w]} - {SILENCE}) + [SILENCE]
            phone_index = {p: i for i, p in enumerate(self.phones_)}
            usable, usable_units, usable_words = [], [], []
            for position, (index, duration, frames, words) in enumerate(zip(keep, seconds, store.lengths, word_lists)):
                units = utterance_units([self.pronunciations_[w] for w in words], phone_index, self.silence)
                needed = sum(1 for _, optional in units if not optional) * int(self.n_states)
                if frames < needed:
                    error = too_short(_name(X[index], index), duration, len(words), needed, int(frames), "the HMM")
                    self._skip_or_raise(error, skipped)
                    continue
                usable.append(position)
                usable_units.append(units)
                usable_words.append(words)
            if not usable:
                raise _nothing_usable(skipped)
            self._record_skipped(skipped, "training utterance")
            features = _Subset(store, usable)
            self._log(f"{len(usable)} utterances, {int(store.lengths[usable].sum())} frames"
                      f"{' (on disk)' if store.on_disk else ''}, {len(self.phones_)} phones, {len(self.words_)} words")
            self.model_ = train(features, usable_units, self.phones_, n_states=int(self.n_states),
                                n_mixtures=int(self.n_mixtures), flat_passes=int(self.flat_passes),
                                passes_per_split=int(self.passes_per_split), mode=self.training,
                                var_floor_ratio=float(self.var_floor), batch_size=int(self.batch_size),
                                n_jobs=self.n_jobs, log=self._log)
        self.lm_ = BigramLM(self.words_, usable_words, kind=self.lm)
        self.history_ = self.model_.history
        self.train_seconds_ = time.perf_counter() - started
        return self

    def _read_training_clips(self, X, y, store: FeatureStore, skipped: list):
        """Features of every usable clip into `store`; (their indices in X, durations, word lists,
        pronunciations of their words). Unusable clips are skipped or raise, as on_error says."""
        lexicon = Lexicon(self.lexicon, fallback="letters" if self.oov == "letters" else "none")
        keep, seconds, word_lists = [], [], []
        spelled: set[str] = set()
        pronunciations: dict[str, list[str]] = {}
        for index, (item, text) in enumerate(zip(X, y)):
            name = _name(item, index)
            try:
                words = transcript_words(str(text))
                if not words:
                    raise DataError(name, "empty transcript")
                for word in words:
                    if word not in pronunciations:
                        phones, how = lexicon.lookup(word)
                        if phones is None:
                            raise LexiconError(name, f"no pronunciation for {word!r} in any lexicon")
                        spelled.update([word] if how == "letters" else [])
                        pronunciations[word] = phones
                signal = self._read(item, name)
                store.append(self._clip_features(signal))
                seconds.append(len(signal) / self.working_sample_rate())
            except DataError as err:
                if isinstance(err, LexiconError) and self.oov == "skip":  # skipped whatever on_error says
                    skipped.append((err.source or name, err.reason))
                else:
                    self._skip_or_raise(err, skipped, name)
                continue
            keep.append(index)
            word_lists.append(words)
        if spelled:
            warnings.warn(f"{len(spelled)} word(s) in no lexicon, pronounced from their letters: {', '.join(sorted(spelled))}",
                          stacklevel=3)
        if not keep:
            raise _nothing_usable(skipped)
        return keep, seconds, word_lists, pronunciations

    # ---- decoding -------------------------------------------------------------------------
    def _graph(self):
        phone_index = {p: i for i, p in enumerate(self.phones_)}
        return build_graph(self.words_, self.pronunciations_, phone_index, self.model_.n_states, self.model_.log_self)

    def _decode_all(self, X, groups=None):
        self._check_fitted()
        X = list(X)
        graph = self._graph()
        out = []
        with self._feature_store() as store:
            for i, item in enumerate(X):
                store.append(self._clip_features(self._read(item, _name(item, i))))
            for feats in self._normalise_store(store, groups):
                state_ll = self.model_.gmm.log_likelihoods(feats)  # (T, S)
                hyp = viterbi_decode(graph, self.lm_, state_ll, float(self.lm_weight), float(self.insertion_penalty),
                                     float(self.beam))
                out.append((hyp, state_ll))
        return graph, out

    def predict(self, X, groups=None) -> list[str]:
        """Transcripts of the clips `X`; `groups` (speakers) pool the CMVN as in fit."""
        _, decoded = self._decode_all(X, groups)
        return [" ".join(hyp.words) for hyp, _ in decoded]

    def score(self, X, y, groups=None) -> float:
        """1 - WER of the transcripts of `X` against `y`."""
        from ..base import word_error_rate

        return 1.0 - word_error_rate(list(y), self.predict(X, groups))

    def predict_details(self, X, groups=None) -> list[dict]:
        """Per clip: text, words with start/end seconds and confidence, and timed phones."""
        graph, decoded = self._decode_all(X, groups)
        hop = self._mfcc_config().hop_length / float(self.working_sample_rate())
        details = []
        for hyp, state_ll in decoded:
            words, phones = segment(graph, hyp.positions, self.words_, self.phones_, self.model_.n_states, state_ll, hop)
            details.append({"text": " ".join(hyp.words), "words": words, "phones": phones})
        return details

    # ---- stages ---------------------------------------------------------------------------
    @property
    def stages(self) -> list[Stage]:
        dim = int(self.n_mfcc) * 3
        return [
            Stage("waveform", "input", f"samples at {getattr(self, 'sample_rate_', self.sample_rate)} Hz, (N,)"),
            Stage("mfcc", "hand-crafted", f"MFCC + deltas + delta-deltas with CMVN, (T, {dim})"),
            Stage("phone_posteriors", "learned", "per-frame phone posteriors from the phone GMMs, (T, P)"),
            Stage("state_path", "learned", "best HMM state per frame from the word-loop Viterbi search, (T,)"),
            Stage("phones", "fixed", "phone sequence with start/end seconds"),
            Stage("words", "output", "words with start/end seconds and confidence; the transcript"),
        ]

    def utterance_features(self, signal: np.ndarray) -> np.ndarray:
        """MFCC + deltas of one waveform at the working rate, with CMVN over the utterance (no speaker known).  # (T, D)"""
        return self._normalised([self._clip_features(signal)])[0]

    def stage_outputs(self, item) -> dict:
        """Every stage's output for one clip (CMVN per utterance, as no speaker is known)."""
        self._check_fitted()
        signal = self._read(item, _name(item, 0))
        config = self._mfcc_config()
        feats = self.utterance_features(signal)
        state_ll = self.model_.gmm.log_likelihoods(feats)
        graph = self._graph()
        hyp = viterbi_decode(graph, self.lm_, state_ll, float(self.lm_weight), float(self.insertion_penalty), float(self.beam))
        hop = config.hop_length / float(self.working_sample_rate())
        words, phones = segment(graph, hyp.positions, self.words_, self.phones_, self.model_.n_states, state_ll, hop)
        return {
            "waveform": signal,
            "mfcc": feats,
            "phone_posteriors": phone_posteriors(state_ll, len(self.phones_), self.model_.n_states),
            "state_path": graph.state_ids[hyp.positions],
            "phones": phones,
            "words": {"text": " ".join(hyp.words), "words": words},
        }

    # ---- saving ---------------------------------------------------------------------------
    def _get_state(self) -> ModelState:
        self._check_fitted()
        model = self.model_
        meta = {"phones": self.phones_, "words": self.words_, "pronunciations": self.pronunciations_,
                "n_states": model.n_states, "history": model.history, "skipped": [list(s) for s in self.skipped_],
                "train_seconds": self.train_seconds_, "sample_rate": self.sample_rate_}
        arrays = {"gmm.means": model.gmm.means, "gmm.variances": model.gmm.variances,
                  "gmm.log_weights": model.gmm.log_weights, "hmm.log_self": model.log_self,
                  "hmm.var_floor": model.var_floor, "lm.matrix": self.lm_.matrix, "lm.start": self.lm_.start,
                  "lm.end": self.lm_.end}
        return ModelState(meta=meta, arrays=arrays)

    @classmethod
    def _from_state(cls, params, state: ModelState):
        est = cls(**params)
        meta, arrays = state.meta, state.arrays
        gmm = DiagGMMBank(arrays["gmm.means"], arrays["gmm.variances"], arrays["gmm.log_weights"])
        est.model_ = PhoneModel(list(meta["phones"]), int(meta["n_states"]), gmm, np.asarray(arrays["hmm.log_self"], dtype=np.float64),
                                np.asarray(arrays["hmm.var_floor"], dtype=np.float64), list(meta.get("history", [])))
        est.phones_ = list(meta["phones"])
        est.words_ = list(meta["words"])
        est.pronunciations_ = {w: list(p) for w, p in meta["pronunciations"].items()}
        lm = BigramLM(est.words_, None, kind="loop")
        lm.matrix, lm.start, lm.end = (np.asarray(arrays[k], dtype=np.float64) for k in ("lm.matrix", "lm.start", "lm.end"))
        est.lm_ = lm
        est._record_skipped(meta["skipped"])
        est.history_ = est.model_.history
        est.train_seconds_ = float(meta.get("train_seconds", 0.0))
        est.sample_rate_ = int(meta.get("sample_rate", params["sample_rate"]))  # models saved before "auto"
        return est
