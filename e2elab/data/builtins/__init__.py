"""The registry of built-in data sets, by name; each data set's module declares it with its loader.

``digits`` ships with scikit-learn and ``speech-digits`` is synthesised on demand, so both work
offline; the others are found under ``$E2ELAB_DATA_DIR`` or the cache, or downloaded there.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import DataError
from ..builtin import Builtin
from ..dataset import Dataset
from .facemask import FACEMASK
from .flowers5 import FLOWERS5
from .fsdd import FSDD
from .idx import FASHION_MNIST, MNIST
from .multi30k import MULTI30K
from .sklearn_digits import DIGITS
from .speech_digits import SPEECH_DIGITS
from .usps import USPS

# In the order ``e2elab data list`` shows them: offline ones first.
BUILTINS: dict[str, Builtin] = {b.name: b for b in (SPEECH_DIGITS, FSDD, DIGITS, USPS, MNIST, FASHION_MNIST, FLOWERS5,
                                                 MULTI30K, FACEMASK)}


def get_builtin(name: str) -> Builtin:
    try:
        return BUILTINS[name]
    except KeyError:
        raise DataError(name, f"no built-in data set of that name; built-ins: {', '.join(BUILTINS)}") from None


def ensure_builtin(name: str, download: bool = True, progress=None) -> Path | None:
    """The folder of built-in `name`, downloading it into the cache when it is missing."""
    return get_builtin(name).ensure(download, progress)


def load_builtin(name: str, download: bool = True, **options) -> Dataset:
    """Load built-in `name` whole (all its splits); `options` go to generated data sets only."""
    return get_builtin(name).load(download, **options)
