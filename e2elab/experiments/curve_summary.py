"""What the runs of a learning curve say: laws and how well they fit, crossovers, sizes needed, savings.

Every entry (:mod:`.entries`) gets its measured points, the law fitted to its runs with
bootstrap intervals, the law's goodness of fit and its extrapolation check (:mod:`.laws`). Each
end-to-end entry is set against the traditional pipeline twice: the crossover of the fitted laws
and the crossover measured between the points, so that a law that fits badly cannot hide a
crossing the points show. For a target error, each entry's size needed comes from its law and,
where the points reach the target, from the points themselves; each remedy (an entry with
parameters of its own) is credited with the factor of labelled data it saves against the plain
pipeline of its kind. Without a target error but with remedies, the target is the plain
pipeline's error with the most data: how much less data does a remedy need to match it?
"""

from __future__ import annotations

import numpy as np

from . import laws
from .cells import task_measures
from .entries import PipelineEntry, baseline_of, pretraining
from .stats import mean_ci

END_TO_END, TRADITIONAL = "end-to-end", "traditional"
# Extrapolation checks refit this many bootstrap resamples at most: their interval needs no more.
CHECK_RESAMPLES = 200


def summarise_entry(entry: PipelineEntry, done: list[tuple[int, dict]], sizes: list[int], n_boot: int,
                    test_items: int) -> tuple[dict, list]:
    """(curve.json's entry, the bootstrap laws) for one entry's finished runs [(n, result)], all
    measured on one test set of `test_items` items."""
    points = []
    for n in sizes:
        runs = [r for size, r in done if size == n]
        point = {"n": float(n), **mean_ci([r["metric"] for r in runs], bounds=(0.0, None)),
                 "n_items": float(np.mean([r["n_train"] for r in runs])),
                 "train_seconds": float(np.mean([r["train_seconds"] for r in runs]))}
        numbers, _ = task_measures(runs)  # the task's measures beside its error: accuracy, AP@0.5, BLEU...
        point |= {name: float(np.mean(values)) for name, values in numbers.items()}
        points.append(point)
    all_n = np.array([size for size, _ in done], dtype=float)
    all_e = np.array([r["metric"] for _, r in done], dtype=float)
    summary = {"kind": entry.kind, "params": entry.own_params, "points": points, "law": None, "law_ci95": None,
               "fit": None, "extrapolation_check": None, "pretraining": pretraining(entry.own_params)}
    if len(sizes) < 3:
        return summary, []
    law = laws.fit_law(all_n, all_e)
    boot = laws.bootstrap_laws(all_n, all_e, n_boot=n_boot, seed=0)
    summary["law"] = law.to_dict()
    summary["law_ci95"] = {p: laws.percentile_ci([getattr(b, p) for b in boot]) for p in ("a", "b", "c")}
    summary["fit"] = laws.goodness_of_fit(law, sizes, [p["mean"] for p in points], laws.test_floor(test_items))
    summary["extrapolation_check"] = laws.extrapolation_check(all_n, all_e, n_boot=min(n_boot, CHECK_RESAMPLES),
                                                              test_items=test_items)
    return summary, boot


def crossings(pipelines: dict, boots: dict, entries: list[PipelineEntry], sizes: list[int]) -> dict:
    """The crossover keys of curve.json: "crossovers" ({end-to-end label: its crossing with the
    traditional pipeline}) and, for the plain end-to-end pipeline, "crossover",
    "crossover_extrapolated", "crossover_observed" and "crossover_explanation"."""
    reference = _reference(entries, TRADITIONAL)
    if reference is None or not any(e.kind == END_TO_END for e in entries):
        return {"crossover": None, "crossover_observed": None, "crossovers": {},
                "crossover_explanation": "a crossover needs both the end-to-end and the traditional pipeline"}
    found = {e.label: crossing(pipelines[e.label], pipelines[reference.label], boots[e.label], boots[reference.label], sizes)
             for e in entries if e.kind == END_TO_END}
    plain = _reference(entries, END_TO_END)
    main = found[plain.label]
    return {"crossover": main["crossover"], "crossover_extrapolated": main["extrapolated"],
            "crossover_observed": main["observed"], "crossover_explanation": main["explanation"], "crossovers": found}


def _reference(entries: list[PipelineEntry], kind: str) -> PipelineEntry | None:
    """The entry a kind is measured by: its plain entry, else its first."""
    of_kind = [e for e in entries if e.kind == kind]
    return next((e for e in of_kind if e.is_plain), of_kind[0] if of_kind else None)


def crossing(end_to_end: dict, traditional: dict, e2e_boot: list, trad_boot: list, sizes: list[int]) -> dict:
    """{"crossover", "extrapolated", "observed", "measured_crossings", "explanation"} of two entries."""
    ns = [p["n"] for p in end_to_end["points"]]
    e2e_means, trad_means = [p["mean"] for p in end_to_end["points"]], [p["mean"] for p in traditional["points"]]
    measured = laws.measured_crossings(ns, e2e_means, trad_means)
    found = {"crossover": None, "extrapolated": None, "observed": laws.observed_crossover(ns, e2e_means, trad_means),
             "measured_crossings": measured}
    if end_to_end["law"] is None or traditional["law"] is None:
        fitted = "too few sizes to fit the laws (at least 3 are needed)"
    else:
        report = laws.crossover_report(_law(end_to_end["law"]), _law(traditional["law"]), sizes[0], sizes[-1],
                                       list(zip(e2e_boot, trad_boot)))
        found["crossover"], found["extrapolated"], fitted = report["crossover"], report["extrapolated"], report["explanation"]
    found["explanation"] = f"{_measured_text(measured, e2e_means, trad_means)}; {fitted}"
    return found


def _measured_text(measured: list[dict], e2e_means, trad_means) -> str:
    if not measured:
        side = "above" if e2e_means[0] > trad_means[0] else "at or below"
        return f"the measured end-to-end mean is {side} the traditional one at every size"
    last = measured[-1]
    text = (f"the measured means cross between n = {last['between'][0]:g} and {last['between'][1]:g} "
            f"(about {last['n']:.4g})")
    if last["end_to_end"] == "above":
        text += ", where the end-to-end mean goes back above the traditional one"
    if len(measured) > 1:
        text += f" ({len(measured)} changes of order in all)"
    return text


def _law(law: dict) -> laws.Law:
    return laws.Law(law["a"], law["b"], law["c"])


def target_sizes(pipelines: dict, boots: dict, entries: list[PipelineEntry], target: float | None, unit: str) -> dict | None:
    """{"error", "chosen", "n_needed", "n_needed_ci95", "n_needed_measured", "unit"} (see the module
    docstring); None without a target error and without a remedy with a baseline to match."""
    chosen = None
    if target is None:
        baseline = next((baseline_of(e, entries) for e in entries if not e.is_plain and baseline_of(e, entries)), None)
        if baseline is None:
            return None
        last = pipelines[baseline.label]["points"][-1]
        target = last["mean"]
        chosen = f"the error of {baseline.label} with the most data (n = {last['n']:g})"
    needed, intervals, measured = {}, {}, {}
    for label, entry in pipelines.items():
        law = entry["law"]
        needed[label] = None if law is None else _law(law).n_for(target)
        intervals[label] = None if law is None else laws.percentile_ci([b.n_for(target) for b in boots[label]])
        measured[label] = measured_size(entry["points"], target)
    return {"error": float(target), "chosen": chosen, "n_needed": needed, "n_needed_ci95": intervals,
            "n_needed_measured": measured, "unit": unit}


def measured_size(points: list[dict], target: float) -> float | None:
    """The size from which the measured mean error stays at or below `target`, interpolated in log n
    between two measured sizes (the smallest size when every point is there already); None when the
    last point is above it."""
    ns, means = [p["n"] for p in points], [p["mean"] for p in points]
    if all(m <= target for m in means):
        return float(ns[0])
    reached = laws.observed_crossover(ns, means, [target] * len(ns))
    return None if reached is None else reached["n"]


def remedies(pipelines: dict, boots: dict, entries: list[PipelineEntry], target: dict | None) -> dict:
    """{label: {"baseline", "n_needed", "n_needed_measured", "saving_factor", "saving_factor_ci95",
    "saving_factor_measured", "pretraining_seconds", "fine_tuning_seconds", "baseline_train_seconds"}}
    for every entry with parameters of its own: the labelled data it saves against its baseline."""
    found = {}
    for entry in entries:
        if entry.is_plain:
            continue
        baseline = baseline_of(entry, entries)
        own, base = pipelines[entry.label], pipelines[baseline.label] if baseline else None
        result = {"baseline": baseline.label if baseline else None, "n_needed": None, "n_needed_measured": None,
                  "saving_factor": None, "saving_factor_ci95": None, "saving_factor_measured": None,
                  "pretraining_seconds": (own["pretraining"] or {}).get("seconds"),
                  "fine_tuning_seconds": own["points"][-1]["train_seconds"],
                  "baseline_train_seconds": base["points"][-1]["train_seconds"] if base else None}
        if target is not None:
            error = target["error"]
            result["n_needed"] = target["n_needed"][entry.label]
            result["n_needed_measured"] = target["n_needed_measured"][entry.label]
            if baseline is not None:
                result["saving_factor"] = _ratio(target["n_needed"][baseline.label], result["n_needed"])
                result["saving_factor_measured"] = _ratio(target["n_needed_measured"][baseline.label],
                                                          result["n_needed_measured"])
                # runs are matched (same sizes and seeds) and resampled alike, so the i-th laws pair up
                ratios = [_ratio(b.n_for(error), r.n_for(error)) for b, r in zip(boots[baseline.label], boots[entry.label])]
                result["saving_factor_ci95"] = laws.percentile_ci(ratios)
        found[entry.label] = result
    return found


def _ratio(baseline_n, remedy_n) -> float | None:
    return None if baseline_n is None or not remedy_n else float(baseline_n / remedy_n)


def warnings_of(summary: dict) -> list[str]:
    """What makes the curve's laws less trustworthy, one sentence each: fits on too few points,
    failed extrapolation checks, single runs per size."""
    found = []
    if len(summary["seeds"]) < 2:
        found.append("one seed: each point is a single run, with no interval")
    for label, entry in summary["pipelines"].items():
        fit, check = entry["fit"], entry["extrapolation_check"]
        if entry["law"] is None:
            found.append(f"{label}: {len(entry['points'])} size(s), too few to fit a law (at least 3 are needed)")
        elif fit["too_few_points"]:
            found.append(f"{label}: the law rests on {fit['n_sizes']} sizes, too few for its fit to mean much "
                         f"(at least {laws.MIN_SIZES_FOR_A_FIT} are needed)")
        if check and check["failed"]:
            found.append(f"{label}: extrapolation check failed at n = {check['n']:g}: {check['why']}")
    return found
