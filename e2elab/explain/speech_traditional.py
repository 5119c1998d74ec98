"""Explain the traditional speech recogniser (MFCC -> phone GMM-HMMs -> word-loop Viterbi).

Its answer already comes with its reasons: the decoder's best path says which frames were which
phone of which word. For each clip this module gives

* the **phone and word alignment** of the decoded path, with each segment's acoustic
  log-likelihood (the sum of log p(frame | state) along the path);
* the **runner-up word** of each word segment: every vocabulary word's phone chain is
  Viterbi-aligned to the segment's frames, and the best other word and its log-likelihood
  margin are reported ("close" when the margin is under 0.5 nats per frame);
* a **map over time** (``likelihood_ratio``): per frame, log p(frame | decoded word's state)
  minus log p(frame | runner-up's state) on the two alignments -- it sums to the margin, so it
  shows exactly which frames decided between the two words.

Scores: deletion / insertion over 20 ms units (frames replaced by the utterance's mean frame,
zero after CMVN), with the score the geometric mean over word segments of the decoded word's
posterior among all vocabulary words on that segment (equal priors); the randomisation check
re-draws the GMM means, then the variances, then the transition probabilities, on a copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from .progress import StepProgress
from .render import render_speech
from .sanity import THRESHOLD, cascading_randomisation
from .scores import deletion_insertion, summarise

TRADITIONAL_SPEECH_METHODS = ("likelihood_ratio",)
CLOSE_NATS_PER_FRAME = 0.5
UNIT_FRAMES = 2  # deletion removes 2 frames (20 ms at a 10 ms hop) at a time


def chain_align(emissions: np.ndarray, self_logp: np.ndarray, next_logp: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Best left-to-right path through a chain of states that starts in the first and ends in the last.

    emissions: (T, S) log p(frame t | chain state s); self_logp, next_logp: (S,) log-probabilities
    of staying and of entering s from s - 1. Returns (score, path (T,), per-frame log-probability
    (T,) of emission plus transition); score -inf when T < S.
    """
    n_frames, n_states = emissions.shape
    if n_frames < n_states:
        return -np.inf, np.zeros(n_frames, dtype=int), np.full(n_frames, -np.inf)
    delta = np.full(n_states, -np.inf)
    delta[0] = emissions[0, 0]
    back = np.zeros((n_frames, n_states), dtype=int)
    for t in range(1, n_frames):
        stay = delta + self_logp
        move = np.concatenate([[-np.inf], delta[:-1] + next_logp[1:]])
        back[t] = np.where(move > stay, np.arange(n_states) - 1, np.arange(n_states))
        delta = np.maximum(stay, move) + emissions[t]
    path = np.empty(n_frames, dtype=int)
    path[-1] = n_states - 1
    for t in range(n_frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    per_frame = emissions[np.arange(n_frames), path].copy()
    per_frame[1:] += np.where(path[1:] == path[:-1], self_logp[path[1:]], next_logp[path[1:]])
    return float(delta[-1]), path, per_frame


def word_scores(graph, state_ll: np.ndarray, start: int, end: int) -> list[tuple[float, np.ndarray]]:
    """(score, per-frame log-probability) of every vocabulary word's phones on frames [start, end)."""
    out = []
    for w in range(len(graph.word_start)):
        positions = np.arange(graph.word_start[w], graph.last_phone[w] + 1)
        emissions = state_ll[start:end][:, graph.state_ids[positions]]
        score, _, per_frame = chain_align(emissions, graph.self_logp[positions], graph.next_logp[positions])
        out.append((score, per_frame))
    return out


class HmmExplainer:
    """The pieces of a fitted traditional recogniser the explanation needs, taken from its public attributes."""

    def __init__(self, estimator):
        from ..speech.hmm_decode import build_graph

        self.estimator = estimator
        self.phone_index = {p: i for i, p in enumerate(estimator.phones_)}
        self.graph = build_graph(estimator.words_, estimator.pronunciations_, self.phone_index,
                                 estimator.model_.n_states, estimator.model_.log_self)

    def decode(self, feats: np.ndarray):
        from ..speech.hmm_decode import viterbi_decode

        est = self.estimator
        state_ll = est.model_.gmm.log_likelihoods(feats)  # (T, S)
        hyp = viterbi_decode(self.graph, est.lm_, state_ll, float(est.lm_weight), float(est.insertion_penalty),
                             float(est.beam))
        return hyp, state_ll


def word_spans(graph, positions: np.ndarray) -> list[tuple[int, int, int]]:
    """(word index, first frame, end frame of its phones) of each word on a decoded path."""
    is_start = np.isin(positions, graph.word_start)
    changed = np.concatenate([[True], positions[1:] != positions[:-1]])
    entries = list(np.flatnonzero(is_start & changed)) + [len(positions)]
    spans = []
    for a, b in zip(entries[:-1], entries[1:]):
        speech = np.flatnonzero(~graph.is_silence[positions[a:b]]) + a
        spans.append((int(graph.word_of[positions[a]]), a, int(speech[-1]) + 1 if speech.size else b))
    return spans


def evidence(graph, state_ll: np.ndarray, spans) -> tuple[np.ndarray, list[dict], float]:
    """Per-frame likelihood ratio map, per-word runner-up facts, and the log of the answer's score."""
    ratio = np.zeros(len(state_ll))
    facts, log_posteriors = [], []
    for word, a, b in spans:
        scored = word_scores(graph, state_ll, a, b)
        scores = np.array([s for s, _ in scored])
        others = [w for w in np.argsort(-scores) if w != word and np.isfinite(scores[w])]
        finite = scores[np.isfinite(scores)]
        log_posteriors.append(scores[word] - logsumexp(finite) if np.isfinite(scores[word]) else -np.inf)
        fact = {"word_index": word, "start_frame": a, "end_frame": b, "log_likelihood": float(scores[word])}
        if others:
            runner = int(others[0])
            margin = float(scores[word] - scores[runner])
            fact.update(runner_up_index=runner, margin=margin, close=bool(margin < CLOSE_NATS_PER_FRAME * (b - a)))
            if np.isfinite(scores[word]):
                ratio[a:b] = scored[word][1] - scored[runner][1]
        facts.append(fact)
    log_score = float(np.mean(log_posteriors)) if log_posteriors else 0.0
    return ratio, facts, log_score


def hmm_randomisers(explainer: HmmExplainer):
    """The recogniser's learned parts, output first: GMM means, GMM variances, transitions."""
    gmm = explainer.estimator.model_.gmm

    def means(rng):
        flat = gmm.means.reshape(-1, gmm.means.shape[-1])
        gmm.means = rng.normal(flat.mean(0), flat.std(0) + 1e-6, gmm.means.shape)

    def variances(rng):
        gmm.variances = np.exp(rng.normal(np.log(gmm.variances).mean(), np.log(gmm.variances).std() + 1e-6,
                                          gmm.variances.shape))

    def transitions(rng):
        graph = explainer.graph
        stay = np.log(rng.uniform(0.05, 0.95, len(graph.self_logp)))
        graph.self_logp = stay
        graph.next_logp = np.where(np.isfinite(graph.next_logp), np.log1p(-np.exp(np.roll(stay, 1))), -np.inf)

    return [("gmm.means", means), ("gmm.variances", variances), ("transitions", transitions)]


def explain_speech_traditional(estimator, items, names, methods=None, out_dir=None, target=None,
                               sanity: bool = True, faithfulness: bool = True, seed: int = 0,
                               threshold: float = THRESHOLD, max_seconds: float | None = None,
                               progress: bool | None = None, **_) -> list[dict]:
    """Records (one per clip) explaining a fitted traditional speech pipeline.

    A clip longer than `max_seconds` (None: the pipeline's own ``max_seconds``) is refused before
    any work: the cost grows with the clip's frames times the vocabulary.
    """
    from ..speech.clips import read_clip

    methods = list(methods or TRADITIONAL_SPEECH_METHODS)
    for method in methods:
        if method not in TRADITIONAL_SPEECH_METHODS:
            raise ValueError(f"unknown method {method!r} for a traditional speech model; "
                             f"choose from {TRADITIONAL_SPEECH_METHODS}")
    if target is not None:
        raise ValueError("the traditional speech explanation explains the decoded transcript; --target is not supported")
    rate = estimator.working_sample_rate()
    limit = max_seconds if max_seconds is not None else estimator.max_seconds
    waves = [read_clip(item, rate, limit, name) for item, name in zip(items, names)]  # every clip checked first
    explainer = HmmExplainer(estimator)
    records = []
    with StepProgress(len(waves), len(methods), sanity, faithfulness, progress) as steps:
        for wave, name in zip(waves, names):
            records += _explain_clip(explainer, wave, name, methods, out_dir, sanity, faithfulness, seed, threshold,
                                     steps)
    return records


def _explain_clip(explainer: HmmExplainer, wave: np.ndarray, name: str, methods: list[str], out_dir, sanity: bool,
                  faithfulness: bool, seed: int, threshold: float, steps: StepProgress) -> list[dict]:
    """The records of one clip, one per method."""
    from .torch_images import _safe

    estimator = explainer.estimator
    rate = estimator.working_sample_rate()
    feats = estimator.utterance_features(wave)  # (T, D)
    hop = _hop_seconds(estimator)
    # Every word segment is aligned against every vocabulary word: the work the clip limit bounds.
    work = {"clip_seconds": round(len(wave) / rate, 3), "frames": len(feats), "vocabulary": len(estimator.words_)}
    with steps.step(name, "likelihood ratio map"):
        hyp, state_ll = explainer.decode(feats)
        spans = word_spans(explainer.graph, hyp.positions)
        ratio, facts, log_score = evidence(explainer.graph, state_ll, spans)
    text = " ".join(hyp.words)
    words = []
    for fact, (w, a, b) in zip(facts, spans):
        entry = {"word": estimator.words_[w], "start": round(a * hop, 3), "end": round(b * hop, 3),
                 "log_likelihood": round(fact["log_likelihood"], 3), "evidence": round(float(ratio[a:b].sum()), 3)}
        if "runner_up_index" in fact:
            entry.update(runner_up=estimator.words_[fact["runner_up_index"]], margin=round(fact["margin"], 3),
                         close=fact["close"])
        words.append(entry)
    phones = _phone_segments(explainer, hyp.positions, state_ll, hop)

    # The map is compared on the words' frames only: elsewhere it is zero by construction, and
    # those ties alone would make any two maps look alike.
    inside = np.zeros(len(feats), dtype=bool)
    for _, a, b in spans:
        inside[a:b] = True

    def map_fn(damaged: HmmExplainer):
        damaged_ll = damaged.estimator.model_.gmm.log_likelihoods(feats)
        return evidence(damaged.graph, damaged_ll, spans)[0][inside][None]

    def score(keep: np.ndarray) -> np.ndarray:
        frame_keep = np.repeat(keep, UNIT_FRAMES, axis=1)[:, : len(feats)]  # (K, T)
        out = []
        for row in frame_keep:
            masked = np.where(row[:, None], feats, feats.mean(axis=0, keepdims=True))
            out.append(np.exp(evidence(explainer.graph, estimator.model_.gmm.log_likelihoods(masked), spans)[2]))
        return np.array(out)

    records = []
    for method in methods:
        spearman = None
        if sanity:
            with steps.step(name, "sanity check"):
                check = cascading_randomisation(explainer, map_fn, hmm_randomisers, seed=seed,
                                                reference=ratio[inside][None], threshold=threshold)
            spearman = float(check["spearman"][0])
        faithful = None
        if faithfulness:
            n_units = int(np.ceil(len(feats) / UNIT_FRAMES))
            unit_relevance = np.add.reduceat(ratio, np.arange(n_units) * UNIT_FRAMES)
            with steps.step(name, "deletion / insertion"):
                faithful = deletion_insertion(score, unit_relevance, seed=seed)
        scores = summarise(faithful, spearman, threshold)
        record = {"input": name, "method": method, "prediction": text, "probability": round(float(np.exp(log_score)), 5),
                  "target": text, "alignment": {"words": words, "phones": phones, "frame_seconds": hop},
                  "time_relevance": ratio, "scores": scores, "work": work}
        if out_dir is not None:
            title = f"{name}: heard \"{text}\" (word posterior {record['probability']:.2f})"
            close = [w for w in words if w.get("close")]
            if close:
                title += "; close: " + ", ".join(f"{w['word']} vs {w['runner_up']}" for w in close)
            spans_drawn = [{"label": w["word"] + (f" (2nd: {w['runner_up']})" if "runner_up" in w else ""),
                            "start": w["start"], "end": w["end"], "value": w["log_likelihood"]} for w in words]
            phone_spans = [{"label": p["phone"], "start": p["start"], "end": p["end"]} for p in phones
                           if p["phone"].lower() != "sil"]
            png = Path(out_dir) / f"{_safe(name)}.{method}.png"
            render_speech(png, wave, rate, title, "log-likelihood ratio vs runner-up", spans_drawn, ratio, hop,
                          None, phone_spans, scores)
            record["png"] = str(png)
        records.append(record)
    return records


def _phone_segments(explainer: HmmExplainer, positions: np.ndarray, state_ll: np.ndarray, hop: float) -> list[dict]:
    """Phones of the path with start/end seconds and their acoustic log-likelihood."""
    graph, n_states = explainer.graph, explainer.estimator.model_.n_states
    phones = explainer.estimator.phones_
    path_phone = graph.state_ids[positions] // n_states
    frame_ll = state_ll[np.arange(len(positions)), graph.state_ids[positions]]
    changes = np.flatnonzero(np.concatenate([[True], (path_phone[1:] != path_phone[:-1]) | (positions[1:] < positions[:-1])]))
    bounds = list(changes) + [len(positions)]
    return [{"phone": phones[path_phone[a]], "start": round(a * hop, 3), "end": round(b * hop, 3),
             "log_likelihood": round(float(frame_ll[a:b].sum()), 3)} for a, b in zip(bounds[:-1], bounds[1:])]


def _hop_seconds(estimator) -> float:
    """Seconds between MFCC frames, from the recogniser's feature settings."""
    from ..speech.features import MfccConfig

    config = MfccConfig(sample_rate=estimator.working_sample_rate(), n_mfcc=int(estimator.n_mfcc),
                        n_mels=int(estimator.n_mels), c0=estimator.c0)
    return config.hop_length / float(estimator.working_sample_rate())
