"""Export a fitted end-to-end pipeline to one ONNX file that onnxruntime runs without PyTorch.

The graph maps batched raw signals to log-probabilities (:mod:`e2elab.export.graphs`), with a
dynamic batch axis and, for speech, a dynamic length axis; the speech model's learned front-end
is part of the graph. What Python still does around it (reading files, resizing, CTC decoding)
is described by the file's metadata (:mod:`e2elab.export.metadata`), so that
:class:`~e2elab.export.onnx_model.OnnxModel` answers like the pipeline did.

The file is written by the torch.export-based exporter (``dynamo=True``). The TorchScript
exporter (``dynamo=False``) has no ONNX form of ``sinc``, with which the front-end builds its
filters, and traced the front-end's frame arithmetic wrongly (ONNX integer division truncates
where torch's ``//`` floors, so a ceil-division over a buffer's length changed value): its
log-probabilities were off by 0.5. torch.export computes every shape symbolically and matches
PyTorch within 1e-5.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path

from ..atomic import atomic_write_bytes
from ..errors import ParameterError, RunFolderError
from ..model_files import one_line
from .dependencies import require
from .graphs import ImageGraph, SpeechGraph
from .metadata import image_metadata, metadata_props, speech_metadata

EXPORTABLE = (("image", "end-to-end"), ("speech", "end-to-end"))
FORMATS = ("onnx",)
OPSET = 18


def export_onnx(model, path: str | os.PathLike) -> Path:
    """Write fitted end-to-end pipeline `model` to the ONNX file `path` (atomically); returns `path`."""
    import torch

    onnx = require("onnx")
    require("onnxscript")  # the torch.export-based exporter builds the ONNX graph with it
    path = Path(path)
    graph, fields = _graph_and_metadata(model)
    graph.eval()
    _clear_gru_dispatch_cache(torch)
    try:
        with torch.no_grad(), _exporter_quiet():
            program = torch.onnx.export(graph, graph.example_inputs(), dynamo=True, opset_version=OPSET,
                                        input_names=list(graph.input_names), output_names=list(graph.output_names),
                                        dynamic_shapes=graph.dynamic_shapes(), optimize=True, verbose=False)
    except Exception as err:  # the exporter's errors are many types; all mean this network cannot be exported
        raise ParameterError(f"cannot export the {model.task} {model.kind} pipeline to ONNX ({one_line(err)})") from None
    proto = program.model_proto
    _name_dynamic_output_axes(proto, graph.output_axes)
    onnx.helper.set_model_props(proto, metadata_props(model, fields))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write_bytes(path, proto.SerializeToString())
    except OSError as err:
        raise RunFolderError(f"{path}: cannot write the ONNX file there ({err.strerror or err})") from None


@contextlib.contextmanager
def _exporter_quiet():
    """Silence the exporter's warnings and log lines about its own internals (deprecations inside
    PyTorch, optional packages it looks for), which a user exporting a model can do nothing about."""
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        exporter_log.setLevel(level)


def _clear_gru_dispatch_cache(torch):
    """Work around a PyTorch exporter bug (2.13) that made a second speech export in one process fail.

    While it exports with dynamic shapes, torch.onnx swaps in its own GRU decomposition and then
    puts the old one back, but the GRU operator's dispatch cache keeps what it saw: the next export
    then traces the GRU through the unrolled decomposition, which fails on a symbolic length.
    """
    cache = getattr(torch.ops.aten.gru.input, "_dispatch_cache", None)
    if cache is not None:
        cache.clear()


def _name_dynamic_output_axes(proto, output_axes: dict[str, dict[int, str]]):
    """Mark the outputs' variable axes as variable. The exporter can leave the example's sizes on
    them (the GRU's time axis), and onnxruntime then warns at every run whose sizes differ."""
    del proto.graph.value_info[:]  # intermediate shapes of the example; onnxruntime infers its own
    for output in proto.graph.output:
        for axis, name in output_axes.get(output.name, {}).items():
            dim = output.type.tensor_type.shape.dim[axis]
            dim.ClearField("dim_value")
            dim.dim_param = name


def _graph_and_metadata(model):
    """The traceable graph of `model` and the metadata fields that go with it."""
    from ..speech.end_to_end import MIN_SECONDS

    where = (getattr(model, "task", None), getattr(model, "kind", None))
    if where not in EXPORTABLE:
        named = f"the {where[0]} {where[1]} pipeline" if None not in where else f"a {type(model).__name__}"
        raise ParameterError(f"{named} cannot be exported to ONNX; only the end-to-end image and speech pipelines "
                             "can (their networks are the whole model; the other pipelines are not one network)")
    model._check_fitted()
    if where[0] == "image":
        return ImageGraph(model), image_metadata(model)
    min_samples = int(MIN_SECONDS * model.sample_rate)
    return SpeechGraph(model.model_, min_samples), speech_metadata(model, min_samples)
