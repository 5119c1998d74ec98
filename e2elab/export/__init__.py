"""ONNX export of the end-to-end pipelines, and running the exported files with onnxruntime.

``export_onnx(model, "model.onnx")`` writes a fitted end-to-end image or speech pipeline as one
ONNX file (raw signals in, log-probabilities out, metadata describing the rest);
``load_onnx("model.onnx")`` runs it without PyTorch and answers like the pipeline;
``load_any(path)`` loads a model folder or an ONNX file alike. Needs ``e2elab[export]``.
"""

from .loading import load_any
from .onnx_export import export_onnx
from .onnx_model import OnnxImageClassifier, OnnxModel, OnnxSpeechRecognizer, load_onnx

__all__ = ["OnnxImageClassifier", "OnnxModel", "OnnxSpeechRecognizer", "export_onnx", "load_any", "load_onnx"]
