"""Decoding speed of both translators on one thread: sentences per second.

Both are trained on the same synthetic German -> English corpus (tests/translation/synthetic.py)
and translate the same held-out sentences. The reference measured in the same run is the
end-to-end translator's greedy search (beam 1) against its beam search, and the phrase-based
stack decoder against the Transformer's beam search. Prints one JSON line.

    python benchmarks/bench_translation_decoders.py --train 400 --test 100
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "translation"))
from synthetic import corpus  # noqa: E402

from e2elab.translation.end_to_end import TransformerTranslator  # noqa: E402
from e2elab.translation.traditional import PhraseBasedTranslator  # noqa: E402


def sentences_per_second(model, sentences: list[str]) -> float:
    start = time.perf_counter()
    model.predict(sentences)
    return len(sentences) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=400, help="training pairs")
    parser.add_argument("--test", type=int, default=100, help="sentences translated")
    parser.add_argument("--beam", type=int, default=4, help="beam of the Transformer's search")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sources, targets = corpus(args.train, seed=0)
    test, _ = corpus(args.test, seed=1)
    phrase_based = PhraseBasedTranslator(tune=False, progress=False).fit(sources, targets)
    transformer = TransformerTranslator(vocab_size=200, d_model=64, heads=2, encoder_layers=2, decoder_layers=2,
                                        d_ff=128, epochs=3, device="cpu", amp=False, progress=False,
                                        beam_size=args.beam).fit(sources, targets)
    beam = sentences_per_second(transformer, test)
    greedy = sentences_per_second(transformer.set_params(beam_size=1), test)
    stack = sentences_per_second(phrase_based, test)
    print(json.dumps({"benchmark": "translation_decoders", "threads": 1, "sentences": args.test,
                      "phrase_based_sentences_per_s": round(stack, 1),
                      "transformer_beam_sentences_per_s": round(beam, 1),
                      "transformer_greedy_sentences_per_s": round(greedy, 1),
                      "phrase_based_vs_transformer_beam": round(stack / beam, 3),
                      "beam_vs_greedy": round(beam / greedy, 3)}))


if __name__ == "__main__":
    main()
