"""One embedded re-estimation pass over the FSDD training set, against hmmlearn's GMMHMM.

e2elab's pass runs forward-backward over every utterance's composite phone HMM and
re-estimates the diagonal GMMs; hmmlearn's GMMHMM does one EM iteration on the same frames,
with the same number of states and mixtures and the same starting parameters (its transition
matrix holds the same left-to-right self-loop and exit probabilities, dense as hmmlearn
requires). hmmlearn takes minutes per thousand frames here, so the two are compared on the
same `--compare` utterances (the first of the set), and e2elab's pass over the whole set is
timed besides. Prints one JSON line with the times and their ratio.

    E2ELAB_DATA_DIR=... python benchmarks/bench_hmm_reestimation.py [--mixtures 8] [--utterances 2500] [--compare 50]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixtures", type=int, default=8)
    parser.add_argument("--utterances", type=int, default=2500, help="FSDD clips to train on (a leave-one-speaker-out fold has 2500)")
    parser.add_argument("--compare", type=int, default=50, help="utterances on which both implementations are timed")
    parser.add_argument("--rate", type=int, default=8000)
    args = parser.parse_args()

    import e2elab
    from e2elab.data.audio import as_waveform
    from e2elab.speech.features import MfccConfig, extract
    from e2elab.speech.lexicon import SILENCE, Lexicon, transcript_words
    from e2elab.speech.hmm_training import flat_start, reestimate, utterance_units

    dataset = e2elab.load_dataset("fsdd")
    order = np.random.default_rng(0).permutation(len(dataset.X))[:args.utterances]
    items = [dataset.X[i] for i in order]
    texts = [transcript_words(dataset.y[i]) for i in order]
    speakers = [dataset.groups[i] for i in order]
    features = extract([as_waveform(x, sample_rate=args.rate) for x in items], MfccConfig(sample_rate=args.rate),
                       groups=speakers, cmvn_mode="speaker")
    prons = Lexicon().pronounce({w for t in texts for w in t})
    phones = sorted({p for ph in prons.values() for p in ph}) + [SILENCE]
    index = {p: i for i, p in enumerate(phones)}
    units = [utterance_units([prons[w] for w in t], index) for t in texts]

    total_frames = int(sum(f.shape[0] for f in features))
    model = flat_start(features, phones, n_states=3)
    reestimate(model, features, [model.composite(u) for u in units])
    while model.gmm.n_mix < args.mixtures:
        model.gmm.split(args.mixtures)
    start_params = (model.gmm.means.copy(), model.gmm.variances.copy(), model.gmm.log_weights.copy(), model.log_self.copy())
    composites = [model.composite(u) for u in units]
    start = time.perf_counter()
    reestimate(model, features, composites)
    full_s = time.perf_counter() - start

    # Both on the same subset, from the same parameters.
    n_compare = min(args.compare, len(features))
    model.gmm.means, model.gmm.variances, model.gmm.log_weights, model.log_self = (a.copy() for a in start_params)
    features = features[:n_compare]
    start = time.perf_counter()
    reestimate(model, features, composites[:n_compare])
    ours_s = time.perf_counter() - start
    model.gmm.means, model.gmm.variances, model.gmm.log_weights, model.log_self = start_params

    from hmmlearn.hmm import GMMHMM

    frames = np.concatenate(features)  # (N, D)
    lengths = [f.shape[0] for f in features]
    n_total = model.gmm.n_states
    transmat = np.zeros((n_total, n_total))
    self_p = np.exp(model.log_self)
    transmat[np.arange(n_total), np.arange(n_total)] = self_p
    transmat[np.arange(n_total - 1), np.arange(1, n_total)] = 1 - self_p[:-1]
    transmat[-1, 0] = 1 - self_p[-1]
    reference = GMMHMM(n_components=n_total, n_mix=model.gmm.n_mix, covariance_type="diag", n_iter=1, tol=0.0,
                       init_params="", params="stmcw")
    reference.startprob_ = np.full(n_total, 1.0 / n_total)
    reference.transmat_ = transmat
    reference.weights_ = np.exp(model.gmm.log_weights)
    reference.means_ = model.gmm.means
    reference.covars_ = model.gmm.variances
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        reference.fit(frames, lengths)
        hmmlearn_s = time.perf_counter() - start

    print(json.dumps({
        "benchmark": "hmm_reestimation_pass", "data": "fsdd", "states": n_total, "mixtures": model.gmm.n_mix,
        "dim": int(frames.shape[1]), "training_set_utterances": len(units), "training_set_frames": total_frames,
        "e2elab_training_set_pass_seconds": round(full_s, 2),
        "compared_utterances": n_compare, "compared_frames": int(frames.shape[0]),
        "e2elab_pass_seconds": round(ours_s, 3), "hmmlearn_em_iteration_seconds": round(hmmlearn_s, 2),
        "speedup_vs_hmmlearn": round(hmmlearn_s / ours_s, 1),
    }))


if __name__ == "__main__":
    main()
