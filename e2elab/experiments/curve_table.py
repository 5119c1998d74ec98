"""A learning curve (curve.json's content) as plain text: points, laws and how well they fit,
crossovers, sizes needed, remedies' savings and the warnings that qualify them."""

from __future__ import annotations


def format_table(summary: dict) -> str:
    unit = summary["unit"]
    lines = [f"{summary['task']} on {summary['data']}: {summary['metric']} against training {unit}, "
             f"test set {summary['test']['how']} ({summary['test']['n_items']} items), seeds {summary['seeds']}"]
    labels = list(summary["pipelines"])
    rows = [[f"n ({unit})"] + [f"{label} mean [95% CI]" for label in labels]]
    for i, n in enumerate(summary["sizes"]):
        row = [str(n)]
        for label in labels:
            p = summary["pipelines"][label]["points"][i]
            ci = "" if p["ci95"] is None else f" [{p['ci95'][0]:.3f}, {p['ci95'][1]:.3f}]"
            row.append(f"{p['mean']:.4f}{ci}")
        rows.append(row)
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    for label in labels:
        lines += _law_lines(label, summary["pipelines"][label])
    lines.append(f"crossover: {summary['crossover_explanation']}")
    cross = summary.get("crossover") or summary.get("crossover_extrapolated")
    if cross and cross.get("ci95"):
        lines.append(f"  fitted: 95% CI [{cross['ci95'][0]:.4g}, {cross['ci95'][1]:.4g}] (found in "
                     f"{100 * cross['fraction_found']:.0f}% of bootstrap resamples)")
    for label, found in (summary.get("crossovers") or {}).items():
        if summary["pipelines"][label]["params"]:
            lines.append(f"crossover of {label}: {found['explanation']}")
    lines += _target_lines(summary)
    lines += [f"warning: {text}" for text in summary.get("warnings", [])]
    return "\n".join(lines)


def _law_lines(label: str, entry: dict) -> list[str]:
    law = entry["law"]
    if law is None:
        return [f"{label}: too few sizes for a law"]
    fit = entry["fit"]
    r2 = "n/a" if fit["r2_log"] is None else f"{fit['r2_log']:.3f}"
    lines = [f"{label}: error(n) = {law['a']:.4f} + {law['b']:.4g} * n^-{law['c']:.3f}; fit in log space: R^2 {r2}, "
             f"means within a factor {fit['max_factor']:.3g} of the law ({fit['n_sizes']} sizes)"]
    check = entry["extrapolation_check"]
    if check:
        verdict = f"FAILED ({check['why']})" if check["failed"] else "passed"
        interval = "" if not check["predicted_ci95"] else f" [{check['predicted_ci95'][0]:.4f}, {check['predicted_ci95'][1]:.4f}]"
        lines.append(f"  refit without n={check['n']:g}: predicts {check['predicted']:.4f}{interval}, observed "
                     f"{check['observed']:.4f}: {verdict}")
    pretrained = entry.get("pretraining")
    if pretrained:
        lines.append(f"  pretraining (once, {pretrained['record']}): {pretrained['seconds']:.0f} s, not counted in the points' "
                     "training time")
    return lines


def _target_lines(summary: dict) -> list[str]:
    target, unit = summary.get("target"), summary["unit"]
    if not target:
        return []
    lines = [f"target {target['error']:.4g}" + (f" ({target['chosen']})" if target.get("chosen") else "") + ":"]
    smallest = summary["sizes"][0]
    for label, n in target["n_needed"].items():
        fitted = "unreachable (below the fitted floor a)" if n is None else f"{n:.4g} {unit}"
        at = target["n_needed_measured"][label]
        measured = ("not reached at the sizes measured" if at is None
                    else f"<= {at:g}" if at == smallest else f"about {at:.4g}")
        lines.append(f"  {label} needs {fitted} by its law; measured: {measured}")
    for label, remedy in (summary.get("remedies") or {}).items():
        if remedy["baseline"] is None:
            lines.append(f"  {label}: no plain pipeline of its kind to measure its saving against")
            continue
        lines.append(f"  {label} saves a factor {_factor(remedy['saving_factor'])} "
                     f"{_interval(remedy['saving_factor_ci95'])}of labelled data against {remedy['baseline']} by the laws, "
                     f"{_factor(remedy['saving_factor_measured'])} by the measured points; training "
                     f"{remedy['fine_tuning_seconds']:.3g} s at the largest size (plain: {remedy['baseline_train_seconds']:.3g} s)"
                     + ("" if remedy["pretraining_seconds"] is None else f", pretraining {remedy['pretraining_seconds']:.0f} s once"))
    return lines


def _factor(value) -> str:
    return "n/a" if value is None else f"{value:.3g}x"


def _interval(ci) -> str:
    return "" if ci is None else f"[{ci[0]:.3g}, {ci[1]:.3g}] "
