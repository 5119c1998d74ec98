"""`e2elab report RUN`: one self-contained report.html (images inline, no network) from a run folder."""

from __future__ import annotations

import datetime as _dt
import platform
from html import escape
from pathlib import Path

from ..version import __version__
from ..atomic import atomic_write_text
from ..errors import RunFolderError
from .collect import RunContents, collect
from .diagram import pipeline_diagram
from .figures import confusion_uri, curve_uri, file_uri, training_curves_uri
from .style import CSS

SECTIONS = ("pipelines", "comparison", "curves", "examples", "confusions", "explanations", "training", "reproduce")


def build_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write RUN/report.html (or `out`) and return its path."""
    contents = collect(run_dir)
    out = Path(out) if out else contents.root / "report.html"
    body = "\n".join(
        [
            _header(contents),
            _section("pipelines", "The pipelines, stage by stage", _pipelines(contents)),
            _section("comparison", "Same data, same splits: the comparison", _comparison(contents)),
            _section("curves", "How much data does end-to-end need?", _curves(contents)),
            _section("examples", "What they answer: examples", _examples(contents)),
            _section("confusions", "Where they go wrong", _confusions(contents)),
            _section("explanations", "Why did it answer that?", _explanations(contents)),
            _section("training", "Training", _training(contents)),
            _section("reproduce", "Reproduce", _reproduce(contents)),
        ]
    )
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>e2elab report: {escape(contents.root.name)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
    try:
        atomic_write_text(out, page)
    except OSError as err:
        raise RunFolderError(f"{out}: cannot write the report ({err.strerror or err})") from None
    return out


def _section(key: str, title: str, content: str) -> str:
    content = content or '<p class="muted">Nothing of this kind in the run folder.</p>'
    return f'<section id="{key}"><h2>{escape(title)}</h2>{content}</section>'


def _header(contents: RunContents) -> str:
    cards = []
    for path, results in contents.results:
        metric = results.get("metric", "metric")
        for kind, entry in results.get("pipelines", {}).items():
            value = entry.get("metric", {}).get("mean")
            if value is not None:
                cards.append(f'<div class="card"><div class="muted">{escape(results.get("task", ""))} &middot; {escape(kind)}</div>'
                              f'<div class="big">{value:.1%}</div><div class="muted">{escape(metric)} on {escape(str(results.get("data", "")))}</div></div>')
    nav = " ".join(f'<a href="#{key}">{key}</a>' for key in SECTIONS)
    return (f'<header><h1>e2elab report</h1><p class="muted">{escape(str(contents.root.name))} &middot; '
            f'e2elab {__version__} &middot; {_dt.datetime.now():%Y-%m-%d %H:%M}</p>'
            f'<div class="cards">{"".join(cards)}</div><nav>{nav}</nav></header>')


def _pipelines(contents: RunContents) -> str:
    from ..io import load

    parts = []
    for model_dir in contents.models:
        try:
            model = load(model_dir)
        except Exception as err:
            parts.append(f'<p class="warn">{escape(str(model_dir))}: cannot load ({escape(str(err))})</p>')
            continue
        examples = contents.examples.get(model.task) or []
        parts.append(pipeline_diagram(model, examples[0] if examples else None))
    if parts:
        parts.insert(0, '<p class="legend"><span class="stage hand-crafted">hand-crafted</span> steps designed by people '
                        '<span class="stage learned">learned</span> steps fitted to data</p>')
    return "".join(parts)


def _comparison(contents: RunContents) -> str:
    parts = []
    for path, results in contents.results:
        metric = results.get("metric", "metric")
        split = results.get("split", {})
        rows = []
        for kind, entry in results.get("pipelines", {}).items():
            m = entry.get("metric", {})
            ci = m.get("ci95") or [None, None]
            rows.append(
                f"<tr><td>{escape(kind)}</td><td>{_pct(m.get('mean'))}</td><td>{_pct(ci[0])} &ndash; {_pct(ci[1])}</td>"
                f"<td>{len(m.get('runs', []))}</td><td>{_num(entry.get('train_seconds'), 's')}</td>"
                f"<td>{_num(_ms(entry.get('predict_seconds_per_item')), 'ms')}</td>"
                f"<td>{_int(entry.get('n_parameters'))}</td><td>{_bytes(entry.get('model_bytes'))}</td></tr>")
        paired = results.get("paired_test")
        note = ""
        if isinstance(paired, dict) and paired.get("p_value") is not None:
            note = f'<p class="muted">Paired test ({escape(str(paired.get("test", "")))}): p = {paired["p_value"]:.3g}</p>'
        parts.append(
            f'<h3>{escape(results.get("task", ""))} on {escape(str(results.get("data", "")))}</h3>'
            f'<p class="muted">split: {escape(str(split))}; {escape(metric)}, lower is better</p>'
            f'<table><tr><th>pipeline</th><th>{escape(metric)}</th><th>95% interval</th><th>runs</th><th>training</th>'
            f'<th>predict / item</th><th>parameters</th><th>model size</th></tr>{"".join(rows)}</table>{note}')
    return "".join(parts)


def _curves(contents: RunContents) -> str:
    parts = []
    for path, curve in contents.curves:
        lines = [_curve_entry(label, entry) for label, entry in curve.get("pipelines", {}).items()]
        lines.append(_crossover(curve))
        target = curve.get("target") or {}
        if target.get("error") is not None:
            measured = target.get("n_needed_measured") or {}
            needs = "; ".join(f"{escape(k)}: {_int(v) if v else 'out of reach'} by its law, "
                              f"{_int(measured[k]) if measured.get(k) else 'not reached'} measured"
                              for k, v in (target.get("n_needed") or {}).items())
            chosen = f" ({escape(target['chosen'])})" if target.get("chosen") else ""
            lines.append(f"<li>to reach {_pct(target['error'])}{chosen}: {needs}</li>")
        lines += [f'<li class="warn">{escape(text)}</li>' for text in curve.get("warnings", [])]
        parts.append(f'<h3>{escape(curve.get("task", ""))} on {escape(str(curve.get("data", "")))}</h3>'
                     f'<img alt="learning curves" src="{curve_uri(curve)}"><ul>{"".join(lines)}</ul>'
                     f'{_remedies(curve.get("remedies") or {})}')
    return "".join(parts)


def _curve_entry(label: str, entry: dict) -> str:
    """One entry's law: its goodness of fit, its extrapolation check (flagged when it failed), pretraining."""
    law, fit = entry.get("law"), entry.get("fit") or {}
    if not law:
        return f"<li>{escape(label)}: too few sizes for a law</li>"
    text = (f"{escape(label)}: error(n) = {law['a']:.4f} + {law['b']:.3g}&middot;n<sup>&minus;{law['c']:.2f}</sup>; "
            f"R&sup2; in log space {_num(fit.get('r2_log'))}, means within a factor {_num(fit.get('max_factor'))} of the law")
    if fit.get("too_few_points"):
        text += f' <span class="warn">(fitted to {fit.get("n_sizes")} sizes only: too few for the fit to mean much)</span>'
    check = entry.get("extrapolation_check") or {}
    if check.get("predicted") is not None:
        verdict = (f' <span class="warn">failed: {escape(str(check.get("why")))}</span>' if check.get("failed")
                   else ' <span class="ok">passed</span>')
        text += (f"; refitted without n = {check.get('n'):g}, it predicts {_pct(check.get('predicted'))}, "
                 f"observed {_pct(check.get('observed'))}{verdict}")
    pretrained = entry.get("pretraining") or {}
    if pretrained.get("seconds") is not None:
        text += f"; its starting model took {_num(pretrained['seconds'], 's')} to train (once, not in the points' time)"
    return f"<li>{text}</li>"


def _crossover(curve: dict) -> str:
    """The crossover as the curve explains it (measured and fitted), with the fitted interval."""
    text = escape(curve.get("crossover_explanation") or "")
    crossover = curve.get("crossover") or {}
    if crossover.get("n"):
        ci = crossover.get("ci95") or [None, None]
        text += f"; fitted crossover about n = {crossover['n']:.0f} (95% interval {_int(ci[0])} &ndash; {_int(ci[1])})"
    return f"<li><b>crossover</b>: {text}</li>" if text else ""


def _remedies(remedies: dict) -> str:
    """Each remedy's labelled data needed and the factor it saves against the plain pipeline, with its times."""
    if not remedies:
        return ""
    rows = "".join(
        f"<tr><td>{escape(label)}</td><td>{escape(r['baseline']) if r.get('baseline') else '&ndash;'}</td><td>{_int(r.get('n_needed'))}</td>"
        f"<td>{_int(r.get('n_needed_measured'))}</td><td>{_factor(r.get('saving_factor'))} {_factor_ci(r.get('saving_factor_ci95'))}</td>"
        f"<td>{_factor(r.get('saving_factor_measured'))}</td><td>{_num(r.get('fine_tuning_seconds'), 's')}</td>"
        f"<td>{_num(r.get('pretraining_seconds'), 's')}</td></tr>" for label, r in remedies.items())
    return ("<table><tr><th>remedy</th><th>against</th><th>labelled data needed (law)</th><th>measured</th>"
            "<th>saving (law, 95% interval)</th><th>saving (measured)</th><th>training at the largest size</th>"
            f"<th>pretraining (once)</th></tr>{rows}</table>")


def _factor(value) -> str:
    return "&ndash;" if value is None else f"{value:.3g}&times;"


def _factor_ci(ci) -> str:
    return "" if not ci else f"({ci[0]:.3g} &ndash; {ci[1]:.3g})"


def _examples(contents: RunContents) -> str:
    """Each experiment's example outputs, drawn by its task's report section (where it has one)."""
    from ..tasks import get_task, resolve, task_names

    parts = []
    for folder, cells in contents.example_cells.items():
        spec = cells[0].get("spec") or {}
        task = spec.get("task")
        if task not in task_names() or get_task(task).report.examples is None:
            continue
        fragment = resolve(get_task(task).report.examples)(cells)
        if fragment:
            parts.append(f'<h3>{escape(task)} on {escape(str(spec.get("data", "")))}</h3>{fragment}')
    return "".join(parts)


def _confusions(contents: RunContents) -> str:
    parts = []
    for path, data in contents.confusions:
        if not isinstance(data, dict):
            continue
        title = f"{data.get('task', '')} · {data.get('pipeline', '')}".strip(" ·")
        if "pipelines" in data:  # several pipelines in one file
            entries = [(f"{title} · {kind}", entry) for kind, entry in data["pipelines"].items()]
        else:
            entries = [(title, data)]
        for name, entry in entries:
            matrix = _confusion_matrix(data.get("task", ""), entry)
            if matrix is not None:
                parts.append(f'<figure><img alt="confusion matrix" src="{confusion_uri(matrix[1], matrix[0], name)}"></figure>')
    return f'<div class="gallery">{"".join(parts)}</div>' if parts else ""


def _confusion_matrix(task_name: str, entry: dict):
    """(labels, matrix) drawn by the task's report section; None for a task not registered here."""
    from ..tasks import get_task, resolve, task_names

    if task_name not in task_names():
        return None
    return resolve(get_task(task_name).report.confusion)(entry)


def _explanations(contents: RunContents) -> str:
    figures = []
    for path, entries in contents.explanations:
        for entry in entries:
            png = _find_png(path.parent, entry.get("png"))
            if png is None:
                continue
            scores = entry.get("scores", {})
            trust = scores.get("trustworthy")
            badge = "" if trust is None else (' <span class="ok">passes sanity check</span>' if trust else ' <span class="warn">fails sanity check</span>')
            caption = (f"{escape(str(entry.get('method', '')))}: {escape(str(entry.get('prediction', '')))}{badge}"
                       f"<br><span class=\"muted\">deletion AUC {_num(scores.get('deletion_auc'))} (random {_num(scores.get('deletion_auc_random'))}), "
                       f"insertion AUC {_num(scores.get('insertion_auc'))} (random {_num(scores.get('insertion_auc_random'))}), "
                       f"randomisation &rho; {_num(scores.get('randomisation_spearman'))}</span>")
            figures.append(f'<figure><img alt="explanation" src="{file_uri(png)}"><figcaption>{caption}</figcaption></figure>')
    if not figures:
        return ""
    intro = ('<p>Deletion AUC: how fast the answer falls as the most relevant input is removed first (lower is better than random). '
             'Insertion AUC: how fast it recovers as that input is added first (higher is better). Randomisation &rho;: rank '
             'correlation with the map of a weight-randomised model; a high value means the map does not depend on what the model learned.</p>')
    return intro + f'<div class="gallery">{"".join(figures)}</div>'


def _find_png(folder: Path, name) -> Path | None:
    """An explanation's picture: as recorded, or beside its explanations.json."""
    if not name:
        return None
    for candidate in (folder / name, folder / Path(name).name):
        if candidate.exists():
            return candidate
    return None


def _training(contents: RunContents) -> str:
    parts = []
    uri = training_curves_uri(contents.histories)
    if uri:
        parts.append(f'<img alt="training curves" src="{uri}">')
    rows = []
    for path, record in contents.trainings:
        rows.append(f"<tr><td>{escape(record.get('task', ''))}</td><td>{escape(record.get('pipeline', ''))}</td>"
                    f"<td>{escape(str(record.get('data', '')))}</td><td>{record.get('n_train', '')}</td>"
                    f"<td>{escape(record.get('metric', ''))} {_pct(record.get('value'))}</td><td>{_num(record.get('train_seconds'), 's')}</td></tr>")
    if rows:
        parts.append("<table><tr><th>task</th><th>pipeline</th><th>data</th><th>training items</th><th>held-out</th><th>time</th></tr>"
                     + "".join(rows) + "</table>")
    return "".join(parts)


def _reproduce(contents: RunContents) -> str:
    commands = contents.run.get("commands", [])
    versions = dict(contents.run.get("versions", {}))
    versions.setdefault("e2elab", __version__)
    versions.setdefault("python", platform.python_version())
    try:
        import sklearn
        import torch

        versions.setdefault("torch", torch.__version__)
        versions.setdefault("scikit-learn", sklearn.__version__)
    except ImportError:
        pass
    timing = contents.run.get("seconds")
    parts = []
    if commands:
        parts.append("<pre>" + escape("\n".join(commands)) + "</pre>")
    if timing:
        parts.append(f"<p>The run took {timing:.0f} s.</p>")
    parts.append("<table>" + "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in versions.items()) + "</table>")
    return "".join(parts)


def _pct(value) -> str:
    return "&ndash;" if value is None else f"{value:.2%}"


def _num(value, unit="") -> str:
    return "&ndash;" if value is None else f"{value:.3g}{(' ' + unit) if unit else ''}"


def _int(value) -> str:
    return "&ndash;" if value is None else f"{int(round(value)):,}"


def _ms(seconds):
    return None if seconds is None else seconds * 1000


def _bytes(value) -> str:
    if value is None:
        return "&ndash;"
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
