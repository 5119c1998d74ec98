"""The traditional translator: phrase-based statistical machine translation (Koehn et al., 2003).

    text -> tokens, true-cased -> word alignment (IBM Model 1, then HMM, both directions,
    grow-diag-final-and) -> phrase table (four scores, pruned) + Kneser-Ney language model of the
    target -> stack decoding with a log-linear model, weights tuned for BLEU -> detokenised text

Each step was designed by hand and trained on its own, where the end-to-end translator learns one
network from sentence pairs. `fit(X, y)` takes source sentences and their translations (strings);
the weights are tuned on `validation_data` pairs when given to `fit`, else on pairs held out from the
training data (and not used for the tables).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
from sklearn.base import BaseEstimator

from ..base import ModelState, PipelineMixin, Stage
from ..errors import DataError
from ..params import Choice, Int, Real
from ..registry import register_pipeline
from . import metrics
from .alignment import align_direction
from .decoder import (DEFAULT_WEIGHTS, FEATURES, PASS_THROUGH, Derivation, StackDecoder, TranslationOption,
                      translation_options)
from .language_model import KneserNeyLM
from .lexicon import Lexicon
from .pairs import language_pair, sentence_list, usable_pairs
from .phrase_table import FEATURES as PHRASE_FEATURES
from .phrase_table import PhraseTable, build_phrase_table
from .progress import progress_bar
from .symmetrise import METHODS as SYMMETRISATIONS
from .symmetrise import symmetrise_corpus
from .text import TrueCaser, capitalise_first, detokenize, tokenize
from .tuning import tune as tune_weights
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)


@register_pipeline("translation", "traditional")
class PhraseBasedTranslator(PipelineMixin, BaseEstimator):
    """Phrase-based statistical machine translation (see the module docstring).

    Parameters: max_phrase_length (words per side of a phrase pair); model1_iterations and
    hmm_iterations (EM steps of each alignment model); symmetrisation; phrase_limit (translations
    kept per source phrase); lm_order (n of the Kneser-Ney model); stack_size, distortion_limit
    (None: any reordering), max_options (translations tried per source span), max_seconds
    (decoding time per sentence, after which the search finishes greedily), max_sentence_length
    (longer training pairs are left out of the tables; longer inputs are translated in pieces of
    that size); tune (tune the weights for BLEU), tune_sentences (size of the development
    sample), tune_rounds, n_best (candidates per sentence for tuning); on_error (an empty or
    binary training pair: "raise" or "skip" it); progress; seed.
    """

    _parameter_constraints = {
        "max_phrase_length": [Int(1, 8)], "model1_iterations": [Int(0)], "hmm_iterations": [Int(0)],
        "symmetrisation": [Choice(*SYMMETRISATIONS)], "phrase_limit": [Int(1)], "lm_order": [Int(1)],
        "stack_size": [Int(1)], "distortion_limit": [Int(0), None], "max_options": [Int(1)],
        "max_seconds": [Real(0, closed="neither")], "max_sentence_length": [Int(1)], "tune": ["boolean"],
        "tune_sentences": [Int(1)], "tune_rounds": [Int(0)], "n_best": [Int(1)],
        "on_error": [Choice("raise", "skip")], "progress": ["boolean", None], "seed": [Int(0)],
    }

    def __init__(self, max_phrase_length=5, model1_iterations=5, hmm_iterations=5,
                 symmetrisation="grow-diag-final-and", phrase_limit=20, lm_order=3, stack_size=30,
                 distortion_limit=6, max_options=10, max_seconds=2.0, max_sentence_length=80, tune=True,
                 tune_sentences=200, tune_rounds=3, n_best=50, on_error="raise", progress=None, seed=0):
        self.max_phrase_length = max_phrase_length
        self.model1_iterations = model1_iterations
        self.hmm_iterations = hmm_iterations
        self.symmetrisation = symmetrisation
        self.phrase_limit = phrase_limit
        self.lm_order = lm_order
        self.stack_size = stack_size
        self.distortion_limit = distortion_limit
        self.max_options = max_options
        self.max_seconds = max_seconds
        self.max_sentence_length = max_sentence_length
        self.tune = tune
        self.tune_sentences = tune_sentences
        self.tune_rounds = tune_rounds
        self.n_best = n_best
        self.on_error = on_error
        self.progress = progress
        self.seed = seed

    # ---- training ------------------------------------------------------------------------------

    def fit(self, X, y, validation_data=None, languages=None):
        """Learn from source sentences `X` and their translations `y`.

        validation_data: an optional (sources, targets) pair of lists to tune the weights on.
        languages: the (source, target) language codes of the pairs, kept as ``languages_`` (and
        saved with the model) so that it says what it translates; None: not known.
        """
        self._validate_params()
        self.languages_ = language_pair(languages)
        sources, targets, skipped = usable_pairs(self, X, y)
        rng = np.random.default_rng(self.seed)
        tuning_pairs = None
        if self.tune:
            if validation_data is not None:
                dev_sources, dev_targets, _ = usable_pairs(self, *validation_data, what="validation")
                pick = np.sort(rng.permutation(len(dev_sources))[:self.tune_sentences])
                tuning_pairs = ([dev_sources[i] for i in pick], [dev_targets[i] for i in pick])
            else:
                held_out = min(self.tune_sentences, len(sources) // 10)
                order = rng.permutation(len(sources))
                pick, keep = np.sort(order[:held_out]), np.sort(order[held_out:])
                tuning_pairs = ([sources[i] for i in pick], [targets[i] for i in pick])
                sources, targets = [sources[i] for i in keep], [targets[i] for i in keep]
        source_tokens = [tokenize(s) for s in sources]
        target_tokens = [tokenize(t) for t in targets]
        self.source_truecaser_ = TrueCaser.fit(source_tokens)
        self.target_truecaser_ = TrueCaser.fit(target_tokens)
        source_tokens = [self.source_truecaser_.apply(t) for t in source_tokens]
        target_tokens = [self.target_truecaser_.apply(t) for t in target_tokens]
        self.source_vocabulary_ = Vocabulary.build(source_tokens)
        self.target_vocabulary_ = Vocabulary.build(target_tokens)
        limit = self.max_sentence_length
        usable = [i for i, (s, t) in enumerate(zip(source_tokens, target_tokens)) if 0 < len(s) <= limit and 0 < len(t) <= limit]
        if not usable:
            raise DataError(None, f"no training pair has between 1 and {limit} words on both sides")
        source_ids = [self.source_vocabulary_.ids(source_tokens[i]) for i in usable]
        target_ids = [self.target_vocabulary_.ids(target_tokens[i]) for i in usable]
        n_source, n_target = len(self.source_vocabulary_), len(self.target_vocabulary_)
        common = dict(model1_iterations=self.model1_iterations, hmm_iterations=self.hmm_iterations,
                      progress=self.progress)
        target_from_source = align_direction(target_ids, source_ids, n_target, n_source,
                                             description="aligning target to source", **common)
        source_from_target = align_direction(source_ids, target_ids, n_source, n_target,
                                             description="aligning source to target", **common)
        alignments = symmetrise_corpus(target_from_source.links, source_from_target.links, self.symmetrisation)
        self.lexicon_ = Lexicon.fit(source_ids, target_ids, alignments)
        self.phrase_table_ = build_phrase_table(source_ids, target_ids, alignments, self.lexicon_,
                                                self.max_phrase_length, self.phrase_limit, self.progress)
        all_target_ids = [self.target_vocabulary_.ids(t) for t in target_tokens if t]
        self.language_model_ = KneserNeyLM.fit(all_target_ids, n_target, self.lm_order)
        self.n_training_pairs_ = len(usable)
        self.weights_ = np.array(DEFAULT_WEIGHTS, dtype=np.float64)
        self.tuning_history_ = []
        if tuning_pairs is not None and tuning_pairs[0]:
            self._tune(*tuning_pairs)
        self._record_skipped(skipped, "training pair")
        return self

    def _tune(self, sources: list[str], targets: list[str]):
        source_tokens = [self._source_tokens(s) for s in sources]
        references = [self.target_truecaser_.apply(tokenize(t)) for t in targets]

        def decode(weights):
            decoder = self._decoder(weights)
            return [[(d.features, self._output_tokens(tokens, d)) for d in
                     self._decode_tokens(tokens, decoder, self.n_best)] for tokens in source_tokens]

        result = tune_weights(decode, references, self.weights_, rounds=self.tune_rounds, progress=self.progress)
        self.weights_, self.tuning_history_ = np.asarray(result.weights, dtype=np.float64), result.history
        log.info("tuned weights on %d sentences: development BLEU %.2f", len(sources), result.bleu)

    # ---- translating ---------------------------------------------------------------------------

    def _decoder(self, weights=None) -> StackDecoder:
        return StackDecoder(self.language_model_, self.weights_ if weights is None else weights,
                            self.stack_size, self.distortion_limit, self.max_seconds)

    def _source_tokens(self, sentence: str) -> list[str]:
        return self.source_truecaser_.apply(tokenize(sentence))

    def _decode_tokens(self, tokens: list[str], decoder: StackDecoder, n_best: int = 1) -> list[Derivation]:
        """Decode a token list; inputs longer than max_sentence_length go in pieces, and the
        n-best list is then that of the last piece after the best translation of the others."""
        ids = self.source_vocabulary_.ids(tokens).tolist()
        piece = self.max_sentence_length
        prefix = Derivation([], 0.0, np.zeros(len(FEATURES)))
        for begin in range(0, max(len(ids), 1), piece):
            chunk = ids[begin:begin + piece]
            options = translation_options(chunk, self.phrase_table_, self.max_options, self.max_phrase_length)
            derivations = [Derivation(prefix.steps + _shifted(d.steps, begin), prefix.score + d.score,
                                      prefix.features + d.features)
                           for d in decoder.decode(len(chunk), options, n_best)]
            prefix = derivations[0]
        return derivations

    def _output_tokens(self, source_tokens: list[str], derivation: Derivation) -> list[str]:
        words = self.target_vocabulary_.words
        return [source_tokens[step.start] if word == PASS_THROUGH else words[word]
                for step in derivation.steps for word in step.target]

    def _translate(self, sentence: str, decoder: StackDecoder) -> tuple[list[str], Derivation]:
        tokens = self._source_tokens(sentence)
        return tokens, self._decode_tokens(tokens, decoder)[0]

    def predict(self, X) -> list[str]:
        return [detail["translation"] for detail in self.predict_details(X)]

    def predict_details(self, X) -> list[dict]:
        """Per sentence: its translation, the decoder's score (the weighted sum of its features) and
        the model's language pair."""
        self._check_fitted()
        sentences = _check_sentences(X, "input")
        decoder, out = self._decoder(), []
        with progress_bar(len(sentences), "translating", self.progress, unit="sentence") as bar:
            for sentence in sentences:
                tokens, derivation = self._translate(sentence, decoder)
                out.append({"translation": detokenize(capitalise_first(self._output_tokens(tokens, derivation))),
                            "score": float(derivation.score),
                            "languages": list(self.languages_) if self.languages_ else None})
                bar.update()
        return out

    def score(self, X, y) -> float:
        """Corpus BLEU (sacreBLEU) / 100 of the translations of `X` against the references `y`:
        0..1, higher is better, as scikit-learn expects of a score."""
        return metrics.bleu(self.predict(X), _check_sentences(y, "reference")) / 100.0

    # ---- stages and explanations ---------------------------------------------------------------

    @property
    def stages(self) -> list[Stage]:
        return [Stage("input", "input", "source sentence, text"),
                Stage("tokens", "learned", "tokens, true-cased (case model learned from the training text)"),
                Stage("alignment", "learned", f"word links (IBM Model 1 + HMM, both directions, {self.symmetrisation})"),
                Stage("phrases", "learned", f"phrase pairs used, with their {len(PHRASE_FEATURES)} scores"),
                Stage("language model", "learned", f"order-{self.lm_order} Kneser-Ney log-probability of the output"),
                Stage("decoder", "hand-crafted", f"stack search (beam {self.stack_size}), weighted {len(FEATURES)} features"),
                Stage("output", "output", "translation, detokenised text")]

    def stage_outputs(self, item) -> dict:
        """Each stage's output for one source sentence, or a (source, reference) pair, whose words
        are then linked by the lexicon learned from the aligned training corpus."""
        self._check_fitted()
        sentence, reference = (item if isinstance(item, (tuple, list)) else (item, None))
        tokens, derivation = self._translate(_check_sentences([sentence], "input")[0], self._decoder())
        output = self._output_tokens(tokens, derivation)
        alignment = None
        if reference is not None:
            reference_tokens = self.target_truecaser_.apply(tokenize(reference))
            links = self.lexicon_.align(self.source_vocabulary_.ids(tokens), self.target_vocabulary_.ids(reference_tokens))
            alignment = {"source": tokens, "target": reference_tokens, "links": [tuple(link) for link in links.tolist()]}
        per_word, state = [], self.language_model_.start()
        for word_id, word in zip([w for s in derivation.steps for w in s.target], output):
            log_prob, state = self.language_model_.score(state, [word_id])
            per_word.append({"word": word, "log_prob": log_prob})
        return {"input": sentence, "tokens": tokens, "alignment": alignment,
                "phrases": [self._phrase_record(tokens, step) for step in derivation.steps],
                "language model": {"log_prob": float(derivation.features[FEATURES.index("language model")]),
                                   "words": per_word},
                "decoder": {"score": derivation.score, "features": dict(zip(FEATURES, derivation.features.tolist()))},
                "output": detokenize(capitalise_first(output))}

    def _phrase_record(self, tokens: list[str], step) -> dict:
        source = tokens[step.start:step.end + 1]
        if step.row < 0:
            return {"source": source, "target": source, "span": [step.start, step.end], "scores": None,
                    "links": [(0, 0)], "count": 0}
        words = self.target_vocabulary_.words
        return {"source": source, "target": [words[w] for w in step.target], "span": [step.start, step.end],
                "scores": dict(zip(PHRASE_FEATURES, map(float, step.scores))),
                "links": list(self.phrase_table_.alignments[step.row]), "count": int(self.phrase_table_.counts[step.row])}

    def explain_sentence(self, sentence: str) -> list[dict]:
        """For each output word: the phrase pair that produced it (with its scores and count) and
        the source words it is aligned to inside that pair (empty: the word came with the phrase)."""
        self._check_fitted()
        tokens, derivation = self._translate(_check_sentences([sentence], "input")[0], self._decoder())
        out = []
        for step in derivation.steps:
            phrase = self._phrase_record(tokens, step)
            for offset, word in enumerate(phrase["target"]):
                linked = sorted(s for s, t in phrase["links"] if t == offset)
                out.append({"word": word, "phrase": phrase, "source_positions": [step.start + s for s in linked],
                            "source_words": [phrase["source"][s] for s in linked]})
        return out

    # ---- saving --------------------------------------------------------------------------------

    def _get_state(self) -> ModelState:
        self._check_fitted()
        arrays = {f"phrases/{k}": v for k, v in self.phrase_table_.to_arrays().items()}
        arrays.update({f"lm/{k}": v for k, v in self.language_model_.to_arrays().items()})
        arrays.update({f"lexicon/{k}": v for k, v in self.lexicon_.to_arrays().items()})
        arrays["weights"] = self.weights_.astype(np.float64)
        meta = {"source_vocabulary": self.source_vocabulary_.words, "target_vocabulary": self.target_vocabulary_.words,
                "source_truecase": self.source_truecaser_.best, "target_truecase": self.target_truecaser_.best,
                "features": list(FEATURES), "n_training_pairs": self.n_training_pairs_,
                "tuning_history": self.tuning_history_, "skipped": self.skipped_,
                "languages": list(self.languages_) if self.languages_ else None}
        return ModelState(meta=meta, arrays=arrays)

    @classmethod
    def _from_state(cls, params, state: ModelState):
        model = cls(**params)
        meta, arrays = state.meta, state.arrays
        if list(meta["features"]) != list(FEATURES):
            raise DataError(None, f"saved model has features {meta['features']}, this version uses {list(FEATURES)}")

        def part(prefix):
            return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

        model.source_vocabulary_ = Vocabulary(meta["source_vocabulary"])
        model.target_vocabulary_ = Vocabulary(meta["target_vocabulary"])
        model.source_truecaser_ = TrueCaser(meta["source_truecase"])
        model.target_truecaser_ = TrueCaser(meta["target_truecase"])
        model.phrase_table_ = PhraseTable.from_arrays(part("phrases/"))
        model.language_model_ = KneserNeyLM.from_arrays(model.lm_order, len(model.target_vocabulary_), part("lm/"))
        model.lexicon_ = Lexicon.from_arrays(part("lexicon/"))
        model.weights_ = np.asarray(arrays["weights"], dtype=np.float64)
        model.n_training_pairs_ = int(meta["n_training_pairs"])
        model.tuning_history_ = list(meta["tuning_history"])
        model.languages_ = language_pair(meta.get("languages"))  # models saved before languages were kept: None
        model._record_skipped(meta["skipped"])
        return model


def _shifted(steps: list[TranslationOption], offset: int) -> list[TranslationOption]:
    """Steps of a piece of the input, their source positions moved to the whole input's."""
    return [replace(step, start=step.start + offset, end=step.end + offset) for step in steps]


def _check_sentences(items, what: str) -> list[str]:
    items = sentence_list(items, what)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise DataError(f"{what} item {i}", f"is a {type(item).__name__}, not a sentence (str)")
        if "\x00" in item:
            raise DataError(f"{what} item {i}", "holds binary data (a NUL character)")
        if not item.strip():
            raise DataError(f"{what} item {i}", "is an empty sentence: there is nothing to translate")
    return items
