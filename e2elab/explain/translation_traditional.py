"""Explain the phrase-based translator: the phrase pair and word links behind each output word.

The decoder's answer is a derivation, a sequence of phrase pairs read from the phrase table,
so its explanation is exact rather than estimated: for every output word, the phrase pair that
produced it (with the table's four scores and how often the pair was seen in training) and the
source words it is aligned to inside that pair (:meth:`PhraseBasedTranslator.explain_sentence`).
Being the model's own computation, it needs no faithfulness or randomisation score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from .scores import summarise

METHODS = ("phrase_alignment",)


def explain_translation_traditional(estimator, items, names, methods=None, out_dir=None, target=None,
                                    **_options) -> list[dict]:
    """One record per sentence: its words' phrase pairs and alignment, and (with `out_dir`) a PNG."""
    from ..errors import ParameterError
    from ..translation.text import tokenize

    unknown = sorted(set(methods or []) - set(METHODS))
    if unknown:
        raise ParameterError(f"unknown method(s) {', '.join(unknown)} for the translation traditional pipeline; "
                             f"known: {', '.join(METHODS)}")
    if target is not None:
        raise ParameterError("the phrase-based translator explains its own translation only (no target)")
    from ..translation.datasets import text_file_sentences

    records = []
    for sentence, name in zip(*text_file_sentences(items, names)):
        words = estimator.explain_sentence(sentence)
        translation = estimator.predict([sentence])[0]
        source = estimator.source_truecaser_.apply(tokenize(sentence))
        links = np.zeros((len(words), len(source)))  # (T, S): 1 where output word t is aligned to source word s
        for t, word in enumerate(words):
            links[t, word["source_positions"]] = 1.0
        # How sure the table is of the phrases used: the geometric mean of their p(target | source)
        # over the output words (words passed through untranslated have no table entry).
        logs = [w["phrase"]["scores"]["log p(t|s)"] for w in words if w["phrase"]["scores"] is not None]
        probability = float(np.exp(np.mean(logs))) if logs else 0.0
        record = {"input": name, "method": "phrase_alignment", "prediction": translation, "probability": probability,
                  "target": translation, "target_probability": probability, "map": links,
                  "words": words, "source": source, "scores": summarise(None, None)}
        if out_dir is not None:
            record["png"] = str(render_alignment(Path(out_dir) / f"{name}.phrase_alignment.png", record))
        records.append(record)
    return records


def render_alignment(path: Path, record: dict) -> Path:
    """Output words down, source words across; each phrase pair a box, its word links filled."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    links, words, source = record["map"], record["words"], record["source"]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(source) + 2), max(3.0, 0.4 * len(words) + 1.5)))
    ax.imshow(links, cmap="Greys", vmin=0, vmax=1.5, aspect="auto")
    row = 0
    for t, word in enumerate(words):  # consecutive output words of one phrase pair share a box
        if t + 1 < len(words) and words[t + 1]["phrase"] is not None and words[t + 1]["phrase"] == word["phrase"]:
            continue
        start, end = word["phrase"]["span"]
        ax.add_patch(Rectangle((start - 0.5, row - 0.5), end - start + 1, t - row + 1, fill=False, color="tab:red"))
        row = t + 1
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(words)), [w["word"] for w in words], fontsize=8)
    fig.suptitle(f"{record['input']}: {record['prediction']}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=110, format="png")
    plt.close(fig)
    return path
