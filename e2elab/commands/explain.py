"""e2elab explain MODEL INPUT... --out DIR: why the model answered, drawn and scored."""

from __future__ import annotations

from ._arg_types import positive_int
from ._common import add_verify_key_argument, verify_key
from ._inputs import command_line_items

NAME = "explain"
HELP = "explain a model's answers (maps, alignments) and score how far each explanation can be trusted"
ORDER = 60


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help="a model folder written by `e2elab train` (RUN/model)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files of the model's kind (audio, images), or sentences and .txt files for a translation model")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the PNGs and explanations.json")
    parser.add_argument("--method", action="append", metavar="M", dest="methods",
                        help="attribution method (repeatable); images end-to-end: integrated_gradients, smoothgrad, "
                             "saliency, occlusion, gradcam; images traditional: word_occlusion, weight_x_count, "
                             "occlusion; speech end-to-end: integrated_gradients, occlusion; speech traditional: "
                             "likelihood_ratio. Default: the pipeline's own list")
    parser.add_argument("--target", metavar="LABEL", help="explain this class (or transcript) instead of the answer")
    parser.add_argument("--steps", type=positive_int, default=50, help="integration steps of integrated gradients (default 50)")
    parser.add_argument("--batch-size", type=positive_int, default=64,
                        help="most model evaluations at once inside a method, to bound memory (default 64)")
    parser.add_argument("--no-sanity", action="store_true", help="skip the model-randomisation check (faster)")
    parser.add_argument("--no-faithfulness", action="store_true", help="skip deletion / insertion scores (faster)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the randomisation check and the random orders")
    add_verify_key_argument(parser)


def run(args) -> int:
    from ..explain.api import EXPLANATIONS_FILE, explain
    from ..io import load

    model = load(args.model, verify_key=verify_key(args))
    items, names = command_line_items(args.inputs, model, args.model)
    records = explain(model, items, names=names, methods=args.methods, out_dir=args.out, target=args.target,
                      n_steps=args.steps, internal_batch_size=args.batch_size, sanity=not args.no_sanity,
                      faithfulness=not args.no_faithfulness, seed=args.seed)
    print("input\tmethod\tanswer\tp\tdeletion (random)\tinsertion (random)\trandomisation rho\ttrust")
    for r in records:
        s = r["scores"]

        def pair(key):
            return "-" if s.get(key) is None else f"{s[key]:.3f} ({s[key + '_random']:.3f})"

        rho = "-" if s.get("randomisation_spearman") is None else f"{s['randomisation_spearman']:.2f}"
        print(f"{r['input']}\t{r['method']}\t{r['prediction']}\t{r['probability']:.3f}\t{pair('deletion_auc')}\t"
              f"{pair('insertion_auc')}\t{rho}\t{'yes' if s['trustworthy'] else 'NO: ' + s['reason']}")
    print(f"wrote {len(records)} figure(s) and {args.out}/{EXPLANATIONS_FILE}")
    return 0
