"""One entry point: ``e2elab <command>``.

Each command lives in its own module under :mod:`e2elab.commands` and defines ``NAME``, ``HELP``,
``ORDER`` (its place in ``--help``), ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from .version import __version__
from .errors import E2elabError


def _command_modules():
    from . import commands

    modules = [importlib.import_module(f"{commands.__name__}.{info.name}") for info in pkgutil.iter_modules(commands.__path__)
               if not info.name.startswith("_")]
    return sorted((m for m in modules if hasattr(m, "NAME")), key=lambda m: (getattr(m, "ORDER", 100), m.NAME))


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit with status 1, like every other error."""

    def error(self, message):
        self.exit(1, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="e2elab",
        description="End-to-end deep learning beside the traditional pipelines it replaced.",
    )
    parser.add_argument("--version", action="version", version=f"e2elab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status.

    Every error e2elab raises on purpose (bad settings, bad data, an unusable run folder) is one
    line on stderr and status 1. Anything else is a bug and keeps its traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return int(stop.code or 0)
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except E2elabError as err:
        message = " ".join(str(err).split())  # one line, however the message was built
        print(f"e2elab {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"e2elab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
