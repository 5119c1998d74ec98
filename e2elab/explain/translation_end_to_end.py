"""Explain the end-to-end translator: which source subwords each output subword rests on.

Integrated gradients over the source embeddings (:meth:`TransformerTranslator.attributions`)
give a (T output x S source) matrix. Two scores say how far to trust it:

* deletion / insertion (:mod:`.scores`): a source subword is *deleted* by setting its embedding
  to zero, the integrated-gradients baseline, and the translation's mean per-subword probability
  (the geometric mean, exp of the mean log-probability of the output subwords) is watched as the
  most-attributed subwords go first, against random orders;
* model randomisation (:mod:`.sanity`): the matrix of a copy whose layers are re-initialised,
  output layer first, should not resemble the trained model's (Spearman of |matrix|).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path
from .render import score_lines
from .sanity import THRESHOLD, cascading_randomisation, torch_randomisers
from .scores import deletion_insertion, summarise

METHODS = ("integrated_gradients",)


def explain_translation_end_to_end(estimator, items, names, methods=None, out_dir=None, target=None,
                                   n_steps=32, sanity=True, faithfulness=True, seed=0, threshold=THRESHOLD,
                                   **_options) -> list[dict]:
    """One record per sentence: the attribution matrix, its scores and (with `out_dir`) a PNG.

    target: a translation to explain instead of the model's own (the same one for every item).
    """
    from ..translation.subwords import EOS
    from ..translation.token_attribution import integrated_gradients

    _check_methods(methods)
    from ..translation.datasets import text_file_sentences

    records = []
    for sentence, name in zip(*text_file_sentences(items, names)):
        source = estimator.subwords_.source.encode([sentence])[0] + [EOS]
        if target is None:
            hypotheses = estimator.translate([sentence])[0]
            output = hypotheses[0].tokens if hypotheses else []
        else:
            output = estimator.subwords_.target.encode([target])[0]
        network = estimator.network_.cpu().eval()
        matrix, delta = integrated_gradients(network, source, output, n_steps)  # (T, S), (T,)
        probability = float(np.exp(_output_log_probs(network, source, output, np.ones((1, len(source)), bool))[0]))
        deletion = (deletion_insertion(lambda keep: np.exp(_output_log_probs(network, source, output, keep)),
                                       matrix.sum(axis=0), seed=seed) if faithfulness else None)
        spearman = None
        if sanity:
            checked = cascading_randomisation(network, lambda net: integrated_gradients(net, source, output, n_steps)[0][None],
                                              torch_randomisers, seed=seed, max_points=2, reference=matrix[None],
                                              threshold=threshold)
            spearman = float(checked["spearman"][0])
        translation = estimator.subwords_.target.decode(output)
        record = {"input": name, "method": "integrated_gradients", "prediction": translation,
                  "probability": probability, "target": translation, "target_probability": probability,
                  "map": matrix,
                  "attribution": {"source": estimator.subwords_.source.pieces(source),
                                  "target": estimator.subwords_.target.pieces(output + [EOS]),
                                  "matrix": matrix.round(5).tolist(), "convergence_delta": delta.round(5).tolist()},
                  "scores": summarise(deletion, spearman, threshold)}
        if out_dir is not None:
            record["png"] = str(render_matrix(Path(out_dir) / f"{name}.integrated_gradients.png", record))
        records.append(record)
    return records


def _check_methods(methods) -> None:
    from ..errors import ParameterError

    unknown = sorted(set(methods or []) - set(METHODS))
    if unknown:
        raise ParameterError(f"unknown method(s) {', '.join(unknown)} for the translation end-to-end pipeline; "
                             f"known: {', '.join(METHODS)}")


def _output_log_probs(network, source: list[int], output: list[int], keep: np.ndarray) -> np.ndarray:
    """(K,) mean log-probability of the output subwords (and </s>) with the source subwords not
    flagged in `keep` (K, S) set to zero embeddings."""
    from ..translation.subwords import BOS, EOS

    with torch.no_grad():
        embedded = network.embed_source(torch.as_tensor([source]))  # (1, S, D)
        mask = torch.as_tensor(np.asarray(keep), dtype=embedded.dtype)[:, :, None]  # (K, S, 1)
        embedded = embedded * mask  # (K, S, D)
        padding = torch.zeros(embedded.shape[:2], dtype=torch.bool)
        memory = network.encode_embedded(embedded, padding)
        decoder_input = torch.as_tensor([[BOS] + list(output)]).expand(len(embedded), -1)  # (K, T)
        wanted = torch.as_tensor([list(output) + [EOS]]).expand(len(embedded), -1)  # (K, T)
        logits, _ = network.decode(decoder_input, memory, padding)
        log_probs = torch.log_softmax(logits.float(), dim=-1).gather(-1, wanted.unsqueeze(-1)).squeeze(-1)
    return log_probs.mean(dim=1).numpy()


def render_matrix(path: Path, record: dict) -> Path:
    """The attribution matrix as a heat map: output subwords down, source subwords across."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    attribution = record["attribution"]
    matrix = np.asarray(attribution["matrix"])
    limit = float(np.abs(matrix).max()) or 1.0
    lines = score_lines(record["scores"])
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * matrix.shape[1] + 2), max(3.0, 0.35 * matrix.shape[0] + 1.5 + 0.3 * len(lines))))
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), attribution["source"], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(matrix.shape[0]), attribution["target"], fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.04, label="attribution (nats)")
    fig.suptitle(f"{record['input']}: {record['prediction']}", fontsize=10)
    if lines:
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, va="bottom", ha="left", family="monospace")
    fig.tight_layout(rect=(0, 0.03 + 0.035 * len(lines), 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=110, format="png")
    plt.close(fig)
    return path
