"""The learning-curve figure: every pipeline entry on one plot (the plain pipelines and their
remedies), with measured points and 95% intervals, each run, the fitted laws, the extrapolation
checks (a failed one is marked), the fitted crossover (with its interval), the crossover measured
between the points, and the target error; drawn from a curve.json dictionary."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import atomic_path

COLORS = {"end-to-end": "tab:blue", "traditional": "tab:orange"}


def _law(law: dict, n):
    return law["a"] + law["b"] * np.asarray(n, dtype=float) ** -law["c"]


def plot_curve(summary: dict, path) -> Path:
    """Draw `summary` (curve.json's content) to `path` (PNG) with matplotlib's Agg backend."""
    from matplotlib.figure import Figure  # a bare Figure renders with Agg, without touching pyplot's backend

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    sizes = np.asarray(summary["sizes"], dtype=float)
    low, high = sizes.min() / 1.3, sizes.max() * 1.3
    crossing = summary.get("crossover") or summary.get("crossover_extrapolated")
    if crossing:
        high = max(high, crossing["n"] * 1.3)
    grid = np.geomspace(low, high, 200)
    for i, (label, entry) in enumerate(summary["pipelines"].items()):
        color = COLORS.get(label, f"C{i + 2}")  # a remedy gets a colour of its own, apart from the plain pipelines
        points = entry["points"]
        n = np.array([p["n"] for p in points])
        mean = np.array([p["mean"] for p in points])
        lo = np.array([p["mean"] if p["ci95"] is None else p["ci95"][0] for p in points])
        hi = np.array([p["mean"] if p["ci95"] is None else p["ci95"][1] for p in points])
        for p in points:
            ax.scatter([p["n"]] * len(p["runs"]), p["runs"], s=8, color=color, alpha=0.35, linewidths=0)
        ax.errorbar(n, mean, yerr=[mean - lo, hi - mean], fmt="o", color=color, capsize=3, label=f"{label} (mean, 95% CI)")
        law = entry.get("law")
        if law:
            inside = grid[grid <= n.max()]
            beyond = grid[grid >= n.max()]
            r2 = (entry.get("fit") or {}).get("r2_log")
            fit = "" if r2 is None else f", log R²={r2:.2f}"
            ax.plot(inside, _law(law, inside), color=color, lw=1.5,
                    label=f"{label}: {law['a']:.3f} + {law['b']:.3g}·n^-{law['c']:.2f}{fit}")
            ax.plot(beyond, _law(law, beyond), color=color, lw=1.2, ls="--")
        check = entry.get("extrapolation_check")
        if check:
            failed = " (FAILED)" if check.get("failed") else ""
            ax.scatter([check["n"]], [check["predicted"]], marker="x", color=color, s=60 if failed else 40, zorder=5,
                       label=f"{label}: predicted without largest n{failed}")
    if crossing:
        label = "crossover" if summary.get("crossover") else "crossover (extrapolated)"
        ax.axvline(crossing["n"], color="k", lw=1, ls=":", label=f"{label} n≈{crossing['n']:.3g}")
        if crossing.get("ci95"):
            ax.axvspan(*crossing["ci95"], color="k", alpha=0.08)
    measured = summary.get("crossover_observed")
    if measured:
        ax.axvline(measured["n"], color="tab:green", lw=1, ls="--",
                   label=f"measured crossover n≈{measured['n']:.3g} ({measured['between'][0]:g}-{measured['between'][1]:g})")
    target = summary.get("target")
    if target:
        ax.axhline(target["error"], color="tab:red", lw=1, ls="-.", label=f"target {summary['metric']} {target['error']:.4g}")
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ax.set_xlabel(f"training set size ({summary.get('unit', 'items')})")
    ax.set_ylabel({"wer": "WER", "error": "error rate"}.get(summary["metric"], summary["metric"].replace("_", " ")))
    ax.set_title(f"learning curves: {summary['task']} on {summary['data']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=120, format="png")
    return path
