"""``python -m e2elab``: the same entry point as the ``e2elab`` command (and what ``torchrun -m e2elab`` runs)."""

import sys

from .cli import main

sys.exit(main())
