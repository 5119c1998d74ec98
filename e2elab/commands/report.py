"""e2elab report RUN: a self-contained report.html from a run folder."""

from __future__ import annotations

NAME = "report"
HELP = "write RUN/report.html from a run folder (comparison, curves, explanations, pipelines)"
ORDER = 70


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN", help="a run folder written by demo, compare, curve, train or explain")
    parser.add_argument("--out", help="where to write the page (default RUN/report.html)")


def run(args) -> int:
    from ..report.html import build_report

    path = build_report(args.run, args.out)
    print(f"report written to {path}")
    return 0
