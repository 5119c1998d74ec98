"""The end-to-end translator: sentence -> BPE subwords -> Transformer encoder-decoder -> beam
search -> sentence, trained by e2elab.nn.

The network learns the whole mapping from source subwords to target subwords; the only parts
fixed before it are the subword vocabularies, learned from the training text (subwords.py).
Training (seq2seq_training.py) cuts batches by tokens, smooths the labels, warms the learning
rate up and anneals it along the shared loop's one-cycle schedule, keeps an exponential moving
average of the weights, and stops early on the validation loss. Decoding is a batched beam search
with GNMT length normalisation (beam.py); `attributions` explains one translation by integrated
gradients (token_attribution.py).

Default sizes suit a 2-core CPU (see TransformerTranslator).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ..base import ModelState, PipelineMixin, Stage
from ..errors import DataError
from ..nn.batching import length_bucketed_batches
from ..nn.fingerprint import run_fingerprint
from ..nn.schedule import planned_epochs, training_length
from ..params import DEVICE, Choice, Int, Real
from ..registry import register_pipeline
from .beam import Hypothesis, beam_search
from .metrics import bleu
from .pairs import language_pair, sentence_list, usable_pairs
from .progress import progress_bar
from .seq2seq_training import AveragedNetwork, PairBatches, identity, pad_sequences, training_step, validate
from .subwords import BOS, EOS, SPECIAL_TOKENS, SubwordCodec
from .token_attribution import TokenAttributions, integrated_gradients
from .transformer import IncrementalDecoder, Seq2SeqTransformer

# However long the source, no output grows past this many subwords: decoding time stays bounded.
MAX_OUTPUT_TOKENS = 256
# A longer source is refused: attention costs grow with its square, and a sentence this long
# (several hundred words) is far outside anything the network was trained on.
MAX_SOURCE_TOKENS = 1024
# The schedule chosen from the data (`epochs=None`): 12 epochs, as many as Multi30k's 29 k pairs
# need in batches of 2048 tokens (about 2,900 updates), with a floor of 1,200 updates for a small
# corpus. A small corpus reaches the floor first by smaller batches, down to 512 tokens (small
# batches suit little data: more, noisier steps for the same compute), then by more epochs.
DEFAULT_EPOCHS = 12
DEFAULT_MIN_UPDATES = 1200
MIN_BATCH_TOKENS = 512
# Parameters that change how a run is shown or where it runs, or only how it decodes: they do
# not make it another training run.
NOT_TRAINING = {"device", "checkpoint_dir", "progress", "beam_size", "length_penalty", "max_length_a",
                "max_length_b"}


@register_pipeline("translation", "end-to-end")
class TransformerTranslator(PipelineMixin, BaseEstimator):
    """Transformer encoder-decoder over BPE subwords (see the module docstring).

    Subwords: vocab_size (per vocabulary), joint_vocabulary (one BPE model for both languages,
    with the source and target embeddings tied; False: one per language). Network: d_model,
    heads, encoder_layers, decoder_layers, d_ff, dropout. The defaults (256 wide, 3 + 3 layers,
    4 heads, feed-forward 1024: 7.6 M parameters with an 8000-unit joint vocabulary) are sized
    for an hour of training on Multi30k on a 2-core CPU (about 12 epochs of 256 steps of 2048
    tokens); the "base" Transformer (512 wide, 6 + 6 layers) would cost several times as much per
    step, too much for that hour, and 29 k sentence pairs do not need its capacity.
    Training: epochs (None: chosen from the data, see DEFAULT_EPOCHS), min_updates (a floor on
    optimiser updates, reached by smaller batches first and more epochs second; None: 1,200 when
    the epochs are chosen from the data, none otherwise), max_tokens (per batch and side), lr (peak), warmup (fraction of the steps),
    weight_decay, label_smoothing, weight_average (decay of the moving average of the weights;
    None: keep the trained weights), validation_fraction (held out from the training pairs for
    early stopping when `fit` gets no validation_data), patience (epochs without a lower
    validation loss before stopping; None: never). Decoding: beam_size (1: greedy),
    length_penalty (GNMT alpha; 0: raw log-probability), max_length_a and max_length_b (an
    output has at most a * source subwords + b subwords). Run: device, amp (mixed precision in
    training: bfloat16 autocast on CUDA and on CPUs with native bfloat16 instructions, about
    twice as fast there), checkpoint_dir (resume an interrupted fit), on_error (an empty or binary
    training pair: "raise" or "skip" it), progress, seed.
    """

    _parameter_constraints = {
        "vocab_size": [Int(len(SPECIAL_TOKENS) + 1)], "joint_vocabulary": ["boolean"], "d_model": [Int(2)],
        "heads": [Int(1)], "encoder_layers": [Int(1)], "decoder_layers": [Int(1)], "d_ff": [Int(1)],
        "dropout": [Real(0, 1, closed="left")], "epochs": [Int(1), None], "min_updates": [Int(0), None], "max_tokens": [Int(1)],
        "lr": [Real(0, closed="neither")], "warmup": [Real(0, 1, closed="left")], "weight_decay": [Real(0)],
        "label_smoothing": [Real(0, 1, closed="left")], "weight_average": [Real(0, 1, closed="neither"), None],
        "validation_fraction": [Real(0, 1, closed="left")], "patience": [Int(1), None], "beam_size": [Int(1)],
        "length_penalty": [Real(0)], "max_length_a": [Real(0)], "max_length_b": [Int(0)], "device": [DEVICE],
        "amp": ["boolean"], "checkpoint_dir": [str, os.PathLike, None], "on_error": [Choice("raise", "skip")],
        "progress": ["boolean", None], "seed": [Int(0)],
    }

    def __init__(self, vocab_size=8000, joint_vocabulary=True, d_model=256, heads=4, encoder_layers=3,
                 decoder_layers=3, d_ff=1024, dropout=0.1, epochs=None, min_updates=None, max_tokens=2048, lr=1e-3, warmup=0.1,
                 weight_decay=0.01, label_smoothing=0.1, weight_average=0.998, validation_fraction=0.05,
                 patience=3, beam_size=4, length_penalty=0.6, max_length_a=1.5, max_length_b=10, device="auto",
                 amp=True, checkpoint_dir=None, on_error="raise", progress=None, seed=0):
        self.vocab_size = vocab_size
        self.joint_vocabulary = joint_vocabulary
        self.d_model = d_model
        self.heads = heads
        self.encoder_layers = encoder_layers
        self.decoder_layers = decoder_layers
        self.d_ff = d_ff
        self.dropout = dropout
        self.epochs = epochs
        self.min_updates = min_updates
        self.max_tokens = max_tokens
        self.lr = lr
        self.warmup = warmup
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.weight_average = weight_average
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.beam_size = beam_size
        self.length_penalty = length_penalty
        self.max_length_a = max_length_a
        self.max_length_b = max_length_b
        self.device = device
        self.amp = amp
        self.checkpoint_dir = checkpoint_dir
        self.on_error = on_error
        self.progress = progress
        self.seed = seed

    # ---- training ------------------------------------------------------------------------------

    def fit(self, X, y, validation_data=None, languages=None):
        """Learn the subwords and the network from source sentences X and their translations y.

        validation_data: (sources, targets) for early stopping; without it, `validation_fraction`
        of the pairs is held out (none when that leaves fewer than 10 pairs to validate on).
        languages: the (source, target) language codes of the pairs, kept as ``languages_`` (and
        saved with the model) so that it says what it translates; None: not known.
        """
        from ..nn import TrainConfig, seed_everything, train

        self._validate_params()
        self.languages_ = language_pair(languages)
        sources, targets, skipped = usable_pairs(self, X, y)
        if validation_data is not None:
            val_sources, val_targets = (_sentences(part, f"validation_data[{i}]")
                                        for i, part in enumerate(validation_data))
            if len(val_sources) != len(val_targets):
                raise DataError("validation_data", f"{len(val_sources)} source sentences but "
                                                   f"{len(val_targets)} translations")
        else:
            sources, targets, val_sources, val_targets = self._hold_out(sources, targets)

        self.subwords_ = SubwordCodec.learn(sources, targets, self.vocab_size, joint=bool(self.joint_vocabulary),
                                            progress=bool(self.progress))
        train_set = PairBatches(self.subwords_.source.encode(sources), self.subwords_.target.encode(targets))
        val_set = None
        if val_sources:
            order = np.argsort([len(s) for s in val_sources], kind="stable")  # similar lengths batch together
            val_set = PairBatches(self.subwords_.source.encode([val_sources[i] for i in order]),
                                  self.subwords_.target.encode([val_targets[i] for i in order]))

        seed_everything(self.seed)
        module = AveragedNetwork(self._build_network(), self.weight_average)
        # batch_size only sizes validation batches (sentences); training batches are cut by tokens.
        max_tokens, epochs = self._schedule(train_set)
        config = TrainConfig(epochs=epochs, batch_size=64, lr=float(self.lr), weight_decay=self.weight_decay,
                             warmup=self.warmup, patience=self.patience if val_set else None, monitor="val_loss",
                             keep="best" if val_set else "last", device=self.device, amp=bool(self.amp),
                             cpu_amp=True, seed=self.seed, checkpoint_dir=self.checkpoint_dir, progress=self.progress,
                             drop_last=False)
        result = train(module, train_set, training_step(self.label_smoothing), config, val_data=val_set,
                       validate=validate, collate_fn=identity,
                       batch_sampler=train_set.token_batches(max_tokens, self.seed),
                       resume_key=self._run_key(train_set, val_set))
        self.network_ = module.final().cpu().eval()
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        self.n_parameters_ = sum(p.numel() for p in {id(p): p for p in self.network_.parameters()}.values())
        self._record_skipped(skipped, "training pair")
        return self

    def _schedule(self, train_set: PairBatches) -> tuple[int, int]:
        """(tokens per batch, epochs) for `train_set` (see DEFAULT_MIN_UPDATES)."""
        min_updates = self.min_updates
        if min_updates is None and self.epochs is None:
            min_updates = DEFAULT_MIN_UPDATES
        epochs, min_updates = training_length(self.epochs, min_updates, DEFAULT_EPOCHS)
        max_tokens = int(self.max_tokens)
        updates = epochs * len(train_set.token_batches(max_tokens, self.seed)(0))
        if updates < min_updates and max_tokens > MIN_BATCH_TOKENS:
            max_tokens = max(MIN_BATCH_TOKENS, int(max_tokens * updates / min_updates))
        per_epoch = len(train_set.token_batches(max_tokens, self.seed)(0))
        return max_tokens, planned_epochs(epochs, per_epoch, min_updates)

    def _hold_out(self, sources, targets):
        """(train sources, train targets, validation sources, validation targets), split at random."""
        n_val = int(round(len(sources) * float(self.validation_fraction)))
        if n_val < 10:
            return sources, targets, [], []
        order = np.random.default_rng(self.seed).permutation(len(sources))
        val, fit = np.sort(order[:n_val]), np.sort(order[n_val:])
        return ([sources[i] for i in fit], [targets[i] for i in fit],
                [sources[i] for i in val], [targets[i] for i in val])

    def _run_key(self, train_set: PairBatches, val_set: PairBatches | None) -> str:
        sets = [train_set] + ([val_set] if val_set is not None else [])
        arrays = [np.asarray(ids, dtype=np.int32) for data in sets for side in (data.sources, data.targets)
                  for ids in side]
        return run_fingerprint(arrays, {"subwords": self.subwords_.to_json(), "validation": val_set is not None},
                               self.get_params(deep=False), ignore=NOT_TRAINING)

    def _build_network(self) -> Seq2SeqTransformer:
        return Seq2SeqTransformer(len(self.subwords_.source), len(self.subwords_.target), d_model=self.d_model,
                                  heads=self.heads, encoder_layers=self.encoder_layers,
                                  decoder_layers=self.decoder_layers, d_ff=self.d_ff, dropout=self.dropout,
                                  share_embeddings=self.subwords_.joint)

    # ---- translation ---------------------------------------------------------------------------

    def predict(self, X) -> list[str]:
        """The best translation of each source sentence."""
        return [detail["translation"] for detail in self.predict_details(X)]

    def predict_details(self, X) -> list[dict]:
        """Per sentence: the best translation, its log-probability and length-normalised score, and the
        model's language pair."""
        self._check_fitted()
        out = []
        for hypotheses in self.translate(_sentences(X, "X")):
            best = hypotheses[0] if hypotheses else None
            out.append({"translation": self.subwords_.target.decode(best.tokens) if best else "",
                        "log_prob": float(best.log_prob) if best else None,
                        "score": float(best.score) if best else None,
                        "languages": list(self.languages_) if self.languages_ else None})
        return out

    def score(self, X, y) -> float:
        """Corpus BLEU (sacreBLEU) / 100 of the translations of X against references y: 0..1,
        higher is better, as scikit-learn expects of a score."""
        return bleu(self.predict(X), _sentences(y, "y")) / 100.0

    def translate(self, X) -> list[list[Hypothesis]]:
        """The beam's finished hypotheses (target ids, log-probability, score) per sentence, best first."""
        self._check_fitted()
        sources = [ids + [EOS] for ids in self.subwords_.source.encode(_sentences(X, "X", allow_empty=True))]
        for index, source in enumerate(sources):
            if len(source) > MAX_SOURCE_TOKENS:
                raise DataError(f"X[{index}]", f"is too long to translate: {len(source)} subwords, at most "
                                               f"{MAX_SOURCE_TOKENS}; split it into sentences")
        results: list[list[Hypothesis]] = [[] for _ in sources]
        if not sources:
            return results
        device = self._device()
        # Sentences of similar length decode together; max_tokens bounds each batch's beam rows.
        batches = length_bucketed_batches([len(s) for s in sources], max_frames=int(self.max_tokens),
                                          max_batch_size=int(self.max_tokens), shuffle=False)(0)
        with torch.no_grad(), progress_bar(len(sources), "translating", self.progress, unit="sentence") as bar:
            for batch in batches:
                source = pad_sequences([sources[i] for i in batch]).to(device)
                memory, padding = self.network_.encode(source)
                rows = torch.arange(len(batch), device=device).repeat_interleave(int(self.beam_size))
                decoder = IncrementalDecoder(self.network_, memory[rows], padding[rows])
                limits = [min(MAX_OUTPUT_TOKENS, int(self.max_length_a * len(sources[i]) + self.max_length_b))
                          for i in batch]
                found = beam_search(decoder, [max(1, n) for n in limits], BOS, EOS, int(self.beam_size),
                                    float(self.length_penalty))
                for index, hypotheses in zip(batch, found):
                    results[index] = hypotheses
                bar.update(len(batch))
        return results

    def _device(self) -> torch.device:
        from ..nn import resolve_device

        device = resolve_device(self.device)
        self.network_.to(device).eval()
        return device

    # ---- stages and explanations ---------------------------------------------------------------

    @property
    def stages(self) -> list[Stage]:
        d = self.d_model
        return [Stage("source", "input", "source sentence, text"),
                Stage("subwords", "fixed", "BPE subwords learned from the training text, then </s>, (S,)"),
                Stage("encoder", "learned", f"Transformer encoder states, (S, {d}), and their norms, (S,)"),
                Stage("attention", "learned", "cross-attention of the last decoder layer, mean over heads, (T, S)"),
                Stage("beam", "fixed", f"beam search ({self.beam_size} wide): hypotheses with log-probability "
                                       f"and length-normalised score"),
                Stage("output", "output", "translation, text")]

    def stage_outputs(self, item) -> dict:
        """Each stage's output for one source sentence; attention is that of the best hypothesis."""
        self._check_fitted()
        (sentence,) = _sentences([item], "item", allow_empty=True)
        source = self.subwords_.source.encode([sentence])[0] + [EOS]
        hypotheses = self.translate([sentence])[0]
        best = hypotheses[0].tokens if hypotheses else []
        device = self._device()
        with torch.no_grad():
            memory, padding = self.network_.encode(torch.as_tensor([source], device=device))
            _, weights = self.network_.decode(torch.as_tensor([[BOS] + best], device=device), memory, padding,
                                              need_weights=True)
        states = memory[0].cpu().numpy()
        source_pieces = self.subwords_.source.pieces(source)
        return {"source": sentence,
                "subwords": source_pieces,
                "encoder": {"states": states, "norms": np.linalg.norm(states, axis=1)},
                "attention": {"source": source_pieces, "target": self.subwords_.target.pieces(best + [EOS]),
                              "weights": weights[0].cpu().numpy()},
                "beam": [{"text": self.subwords_.target.decode(h.tokens),
                          "subwords": self.subwords_.target.pieces(h.tokens), "log_prob": h.log_prob,
                          "score": h.score} for h in hypotheses],
                "output": self.subwords_.target.decode(best)}

    def attributions(self, src: str, steps: int = 32) -> TokenAttributions:
        """How much each source subword contributed to each output subword of the translation of
        `src`, by integrated gradients over the source embeddings: a (T output x S source) matrix."""
        (sentence,) = _sentences([src], "src", allow_empty=True)
        hypotheses = self.translate([sentence])[0]
        output = hypotheses[0].tokens if hypotheses else []
        source = self.subwords_.source.encode([sentence])[0] + [EOS]
        self._device()
        matrix, delta = integrated_gradients(self.network_, source, output, steps)
        return TokenAttributions(self.subwords_.source.pieces(source), self.subwords_.target.pieces(output + [EOS]),
                                 matrix, delta)

    # ---- saving --------------------------------------------------------------------------------

    def _get_state(self) -> ModelState:
        self._check_fitted()
        weights = self.network_.state_dict()
        if self.subwords_.joint:  # one tied matrix: saved once, under its target name
            weights.pop("source_embedding.weight")
        arrays = {f"network/{k}": v.detach().cpu().numpy() for k, v in weights.items()}
        meta = {"subwords": self.subwords_.to_json(), "history": self.history_, "best_epoch": self.best_epoch_,
                "n_parameters": self.n_parameters_, "skipped": self.skipped_,
                "languages": list(self.languages_) if self.languages_ else None}
        return ModelState(meta=meta, arrays=arrays)

    @classmethod
    def _from_state(cls, params, state: ModelState):
        model = cls(**params)
        meta = state.meta
        model.subwords_ = SubwordCodec.from_json(meta["subwords"])
        model.history_, model.best_epoch_ = meta["history"], meta["best_epoch"]
        model.n_parameters_ = meta["n_parameters"]
        model.languages_ = language_pair(meta.get("languages"))  # models saved before languages were kept: None
        model.network_ = model._build_network()
        weights = {k[len("network/"):]: torch.from_numpy(np.array(v)) for k, v in state.arrays.items()
                   if k.startswith("network/")}
        if model.subwords_.joint:
            weights["source_embedding.weight"] = weights["target_embedding.weight"]
        model.network_.load_state_dict(weights)
        model.network_.eval()
        model._record_skipped(meta["skipped"])
        return model

    # ---- checks --------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.d_model % self.heads:
            raise self._invalid_param("d_model", f"a multiple of heads ({self.heads})")


def _sentences(items, name: str, allow_empty: bool = False) -> list[str]:
    """`items` as a list of strings; an error names the bad item."""
    sentences = sentence_list(items, name)
    for index, sentence in enumerate(sentences):
        if not isinstance(sentence, str):
            raise DataError(f"{name}[{index}]", f"is a {type(sentence).__name__}, not a sentence (str)")
        if not allow_empty and not sentence.strip():
            raise DataError(f"{name}[{index}]", "is an empty sentence: there is nothing to translate")
    return sentences
