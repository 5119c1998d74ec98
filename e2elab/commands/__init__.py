"""The sub-commands of ``e2elab``, one module each (see :mod:`e2elab.cli`)."""
