"""e2elab: end-to-end deep learning beside the traditional pipelines it replaced."""

from .version import __version__

from .registry import available_pipelines, make_pipeline  # noqa: E402


def load_dataset(source, split=None, **options):
    """A built-in data set by name, or a user's folder, manifest or Kaldi data directory.

    `split` picks the data set's own "train", "val" or "test" part where it has one.
    """
    from .data.sources import load_dataset as _load

    return _load(source, split=split, **options)


def save(model, directory, sign_key=None):
    """Save a fitted pipeline as a folder of JSON + safetensors (+ skops); `sign_key` signs it (HMAC-SHA256)."""
    from .io import save as _save

    return _save(model, directory, sign_key=sign_key)


def load(directory, verify_key=None):
    """Load a pipeline saved by `save`; pickles are refused, and with `verify_key` (or
    ``$E2ELAB_VERIFY_KEY``) so is any folder not signed with that key."""
    from .io import load as _load

    return _load(directory, verify_key=verify_key)


__all__ = ["__version__", "available_pipelines", "load", "load_dataset", "make_pipeline", "save"]
