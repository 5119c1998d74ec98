"""e2elab export MODEL --format onnx --out FILE: an end-to-end model as one file that onnxruntime runs."""

from __future__ import annotations

from ._common import add_verify_key_argument, verify_key

NAME = "export"
HELP = "write an end-to-end model as an ONNX file (dynamic batch and length) for onnxruntime (needs e2elab[export])"
ORDER = 75


def add_arguments(parser):
    from ..export.onnx_export import FORMATS

    parser.add_argument("model", metavar="MODEL", help="an end-to-end image or speech model folder (RUN/model)")
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="file format (default onnx)")
    parser.add_argument("--out", required=True, metavar="FILE", help="the file to write, e.g. model.onnx")
    add_verify_key_argument(parser)


def run(args) -> int:
    from ..export.onnx_export import export_onnx
    from ..io import load

    model = load(args.model, verify_key=verify_key(args))
    path = export_onnx(model, args.out)
    print(f"wrote {path} ({model.task} {model.kind}; run it with `e2elab predict {path} INPUT...`)")
    return 0
