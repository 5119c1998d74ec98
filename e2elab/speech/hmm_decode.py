"""Viterbi beam search over a word loop with a word bigram language model.

The decoding graph puts every vocabulary word's phone states in a chain followed by an optional
silence (a tee: the word may end before or after it), plus an optional leading silence. At each
frame every chain advances in one vectorised step; words that end compete to start the next
word through the language model (LM weight times log P(next | previous) plus a word insertion
penalty), a max over a (W, W) matrix. Hypotheses further than `beam` below the best are pruned.
Backpointers over graph positions give the best state path, from which come the words, the
phones and their times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .lexicon import SILENCE

NEG_INF = -np.inf


class BigramLM:
    """Word bigram with add-k smoothing from training transcripts; "loop" gives uniform probabilities.

    `matrix` (W, W) holds log P(next | previous); `start` and `end` hold log P(w | <s>) and
    log P(</s> | w).
    """

    def __init__(self, words: list[str], transcripts: list[list[str]] | None = None, kind: str = "bigram", k: float = 0.1):
        self.words = list(words)
        n = len(self.words)
        if kind == "loop" or not transcripts:
            self.matrix = np.full((n, n), -np.log(n + 1))
            self.start = np.full(n, -np.log(n))
            self.end = np.full(n, -np.log(n + 1))
            return
        if kind != "bigram":
            raise ValueError(f"lm must be 'bigram' or 'loop', not {kind!r}")
        index = {w: i for i, w in enumerate(self.words)}
        counts = np.zeros((n + 1, n + 1))  # row n = <s>, column n = </s>
        for sentence in transcripts:
            ids = [n] + [index[w] for w in sentence] + [n]
            for a, b in zip(ids[:-1], ids[1:]):
                counts[a, b] += 1
        counts[n, n] = 0.0  # <s> </s> (an empty sentence) is never allowed
        smoothed = counts + k
        smoothed[n, n] = 0.0
        with np.errstate(divide="ignore"):
            logp = np.log(smoothed / smoothed.sum(1, keepdims=True))
        self.matrix, self.start, self.end = logp[:n, :n], logp[n, :n], logp[:n, n]


@dataclass
class Graph:
    """Positions of the decoding graph and how they connect."""

    state_ids: np.ndarray  # (G,) global HMM state of each position
    self_logp: np.ndarray  # (G,)
    next_logp: np.ndarray  # (G,) arc from position g-1 into g; -inf where none
    word_of: np.ndarray  # (G,) word index, -1 for the leading silence
    is_silence: np.ndarray  # (G,) bool
    word_start: np.ndarray  # (W,) first position of each word
    last_phone: np.ndarray  # (W,) last position of each word's phones
    last_sil: np.ndarray  # (W,) last position of each word's trailing silence
    skip_sil_logp: np.ndarray  # (W,) exit after the phones without the silence
    exit_sil_logp: np.ndarray  # (W,)
    lead_last: int
    lead_exit_logp: float


def build_graph(words: list[str], pronunciations: dict[str, list[str]], phone_index: dict[str, int], n_states: int,
                log_self: np.ndarray, sil_prob: float = 0.5) -> Graph:
    """The word-loop graph: leading silence, then per word its phones and an optional silence."""
    log_exit = np.log1p(-np.exp(log_self))
    sil = phone_index[SILENCE]
    ids, word_of, is_sil, nxt = [], [], [], []

    def add_chain(phone_list, word, silence):
        first = True
        for p in phone_list:
            for s in range(n_states):
                nxt.append(NEG_INF if first else log_exit[ids[-1]])
                first = False
                ids.append(phone_index[p] * n_states + s)
                word_of.append(word)
                is_sil.append(silence)

    add_chain([SILENCE], -1, True)
    lead_last = len(ids) - 1
    starts, last_phone, last_sil = [], [], []
    for w, word in enumerate(words):
        starts.append(len(ids))
        add_chain(pronunciations[word], w, False)
        last_phone.append(len(ids) - 1)
        add_chain([SILENCE], w, True)
        last_sil.append(len(ids) - 1)
    ids_arr = np.array(ids)
    next_logp = np.array(nxt)
    last_phone_arr, last_sil_arr = np.array(last_phone), np.array(last_sil)
    next_logp[last_phone_arr + 1] = log_exit[ids_arr[last_phone_arr]] + np.log(sil_prob)  # into the optional silence
    exit_sil = log_exit[sil * n_states + n_states - 1]
    return Graph(ids_arr, log_self[ids_arr], next_logp, np.array(word_of), np.array(is_sil), np.array(starts),
                 last_phone_arr, last_sil_arr, log_exit[ids_arr[last_phone_arr]] + np.log(1.0 - sil_prob),
                 np.full(len(words), exit_sil), lead_last, float(exit_sil))


@dataclass
class Hypothesis:
    """Best path: the words, the per-frame graph positions, and the path's score."""

    words: list[str]
    positions: np.ndarray  # (T,)
    score: float


def viterbi_decode(graph: Graph, lm: BigramLM, state_ll: np.ndarray, lm_weight: float = 1.0,
                   insertion_penalty: float = 0.0, beam: float = 500.0) -> Hypothesis:
    """Best word sequence for one utterance's state log-likelihoods `state_ll` (T, S)."""
    n_frames = state_ll.shape[0]
    n_pos = len(graph.state_ids)
    n_words = len(graph.word_start)
    emissions = state_ll[:, graph.state_ids]  # (T, G)
    transition = lm_weight * lm.matrix + insertion_penalty  # (W_prev, W_next)
    enter_first = lm_weight * lm.start + insertion_penalty  # (W,)
    back = np.zeros((n_frames, n_pos), dtype=np.int64)
    positions = np.arange(n_pos)
    delta = np.full(n_pos, NEG_INF)
    delta[0] = 0.0
    delta[graph.word_start] = enter_first
    delta += emissions[0]
    back[0] = positions
    for t in range(1, n_frames):
        stay = delta + graph.self_logp
        moved = np.full(n_pos, NEG_INF)
        moved[1:] = delta[:-1] + graph.next_logp[1:]
        better = moved > stay
        step = np.where(better, moved, stay)
        source = np.where(better, positions - 1, positions)
        # Word ends: after the phones (skipping the silence) or after the silence.
        end_phone = delta[graph.last_phone] + graph.skip_sil_logp
        end_sil = delta[graph.last_sil] + graph.exit_sil_logp
        end_score = np.maximum(end_phone, end_sil)  # (W,)
        end_pos = np.where(end_phone >= end_sil, graph.last_phone, graph.last_sil)
        entry = end_score[:, None] + transition  # (W_prev, W_next)
        best_prev = entry.argmax(0)
        entry_score = entry[best_prev, np.arange(n_words)]
        entry_pos = end_pos[best_prev]
        lead = delta[graph.lead_last] + graph.lead_exit_logp + enter_first
        from_lead = lead > entry_score
        entry_score = np.where(from_lead, lead, entry_score)
        entry_pos = np.where(from_lead, graph.lead_last, entry_pos)
        starts = graph.word_start
        take = entry_score > step[starts]
        step[starts[take]] = entry_score[take]
        source[starts[take]] = entry_pos[take]
        delta = step + emissions[t]
        delta[delta < delta.max() - beam] = NEG_INF
        back[t] = source
    final_phone = delta[graph.last_phone] + graph.skip_sil_logp + lm_weight * lm.end
    final_sil = delta[graph.last_sil] + graph.exit_sil_logp + lm_weight * lm.end
    final = np.concatenate([final_phone, final_sil])
    best = int(final.argmax())
    end = graph.last_phone[best] if best < n_words else graph.last_sil[best - n_words]
    path = np.empty(n_frames, dtype=np.int64)
    path[-1] = end
    for t in range(n_frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return Hypothesis(_words_of_path(graph, path, lm.words), path, float(final[best]))


def _word_entries(graph: Graph, path: np.ndarray) -> np.ndarray:
    """Frames at which a new word starts on `path`."""
    is_start = np.isin(path, graph.word_start)
    changed = np.concatenate([[True], path[1:] != path[:-1]])
    return np.flatnonzero(is_start & changed)


def _words_of_path(graph: Graph, path: np.ndarray, words: list[str]) -> list[str]:
    return [words[graph.word_of[path[t]]] for t in _word_entries(graph, path)]


def segment(graph: Graph, path: np.ndarray, words: list[str], phones: list[str], n_states: int,
            state_ll: np.ndarray, hop_seconds: float) -> tuple[list[dict], list[dict]]:
    """Word and phone segments of a path, with times in seconds and a confidence per word.

    A word's confidence is the mean, over its frames, of the posterior of the path's phone
    among all phones given the frame alone (emission likelihoods with a flat prior).
    """
    phone_post = phone_posteriors(state_ll, len(phones), n_states)  # (T, P)
    path_phone = graph.state_ids[path] // n_states  # (T,)
    frame_conf = phone_post[np.arange(len(path)), path_phone]
    entries = list(_word_entries(graph, path)) + [len(path)]
    word_segments = []
    for a, b in zip(entries[:-1], entries[1:]):
        speech = np.flatnonzero(~graph.is_silence[path[a:b]]) + a
        last = int(speech[-1]) + 1 if speech.size else b
        word_segments.append({"word": words[graph.word_of[path[a]]], "start": round(a * hop_seconds, 3),
                              "end": round(last * hop_seconds, 3), "confidence": round(float(frame_conf[a:last].mean()), 4)})
    phone_segments = []
    changes = np.flatnonzero(np.concatenate([[True], (path_phone[1:] != path_phone[:-1]) | (path[1:] < path[:-1])]))
    bounds = list(changes) + [len(path)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        phone_segments.append({"phone": phones[path_phone[a]], "start": round(a * hop_seconds, 3), "end": round(b * hop_seconds, 3)})
    return word_segments, phone_segments


def phone_posteriors(state_ll: np.ndarray, n_phones: int, n_states: int) -> np.ndarray:
    """Per-frame posterior of each phone from the emissions alone (flat prior), (T, P)."""
    per_phone = logsumexp(state_ll.reshape(state_ll.shape[0], n_phones, n_states), axis=2)  # (T, P)
    return np.exp(per_phone - logsumexp(per_phone, axis=1, keepdims=True))
