"""``e2elab data list | show``: the built-in data sets, and what any data set holds."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..tasks import get_task, task_names
from ._common import add_language_arguments

NAME = "data"
HELP = "list the built-in data sets, or show what a data set holds"
ORDER = 10
# Above this many items, durations and image sizes are read from a random sample of the headers.
DEFAULT_SAMPLE = 5000
MAX_LISTED = 20


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    lister = sub.add_parser("list", help="each built-in data set, whether it is here and where")
    lister.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show = sub.add_parser("show", help="items, classes or vocabulary, groups, durations or image sizes, unreadable items")
    show.add_argument("data", metavar="NAME_OR_PATH", help="a built-in name, a folder, a manifest or a Kaldi data directory")
    show.add_argument("--split", help="only the data set's own train, val or test part")
    show.add_argument("--task", choices=task_names(), help="where it cannot be told from the files")
    add_language_arguments(show)
    show.add_argument("--skip-bad", action="store_true", help="list bad manifest rows instead of stopping at the first")
    show.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, metavar="N",
                      help=f"read headers of at most N items, chosen at random (default {DEFAULT_SAMPLE}; 0 = all)")
    show.add_argument("--decode", action="store_true", help="decode every (sampled) item fully, to find silent, "
                      "truncated or corrupt files")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args) -> int:
    if args.data_command == "list":
        return _list(args)
    return _show(args)


def _list(args) -> int:
    from ..data.builtins import BUILTINS

    rows = [b.status() for b in BUILTINS.values()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        mark = "yes" if r["present"] else "no "
        print(f"{r['name']:<{width}}  {r['task']:<6}  present: {mark}  {r['where']}")
        print(f"{'':<{width}}  {r['description']}; licence: {r['licence']}")
    return 0


def _show(args) -> int:
    from ..data.sources import load_dataset
    from ..translation.datasets import TASK as TRANSLATION, read_language_pair

    on_error = "skip" if args.skip_bad else "raise"
    source = args.data
    if args.source is not None or args.target is not None:
        if args.task not in (None, TRANSLATION):
            raise ParameterError(f"--source and --target choose the languages of translation data; {args.task} data has none")
        source = read_language_pair(args.data, args.source, args.target, on_error)
    ds = load_dataset(source, split=args.split, task=args.task, on_error=on_error)
    summary = describe(ds, sample=args.sample, decode=args.decode)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def describe(ds, sample: int = DEFAULT_SAMPLE, decode: bool = False, seed: int = 0) -> dict:
    """What a data set holds, as plain JSON: counts, targets, groups, item sizes, bad items."""
    task = get_task(ds.task)
    groups = Counter(ds.groups.tolist())
    summary = {
        "name": ds.name, "source": ds.source, "task": ds.task, "items": len(ds),
        "splits": {name: int(np.sum(ds.split == name)) for name in ds.splits},
        "groups": {"count": len(groups), "items_per_group": _stats(list(groups.values())),
                   "largest": dict(groups.most_common(MAX_LISTED))},
        "skipped_while_loading": [{"item": item, "reason": reason} for item, reason in ds.skipped],
    }
    if getattr(ds, "languages", None):
        summary["languages"] = list(ds.languages)
    if task.target_kind == "class":
        summary["classes"] = dict(sorted(Counter(ds.y.tolist()).items()))
    elif task.target_kind == "boxes":
        per_item = [len(np.asarray(boxes).reshape(-1, 4)) for boxes in ds.y]
        widths = [float(w) for boxes in ds.y for w in np.asarray(boxes, dtype=float).reshape(-1, 4)[:, 2]]
        summary["boxes"] = {"count": int(sum(per_item)), "per_item": _stats(per_item), "width_px": _stats(widths),
                            "items_without": int(sum(n == 0 for n in per_item))}
    else:
        words = ds.counts()
        summary["vocabulary"] = {"size": len(words), "words": dict(sorted(words.items()))
                                 if len(words) <= 100 else dict(words.most_common(100))}
        labelled = [t for t in ds.y if str(t).strip()]  # an empty transcript marks an unlabeled clip
        summary["transcripts"] = {"distinct": len(set(labelled)), "unlabeled": len(ds.y) - len(labelled),
                                  "words_per_transcript": _stats([len(t.split()) for t in labelled])}
    summary.update(_describe_items(ds, sample, decode, seed))
    return summary


def _describe_items(ds, sample: int, decode: bool, seed: int) -> dict:
    """Durations (audio) or image sizes, from headers of all items or of a random sample; for other
    kinds of item, only whether each can be read."""
    n = len(ds)
    indices = np.arange(n)
    in_memory = ds.X.dtype != object  # one array of equal-sized items: every item costs nothing to measure
    if sample and n > sample and not in_memory:
        indices = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
    item_kind = get_task(ds.task).item_kind
    measure = MEASURES.get(item_kind, _readable(ds.task))
    measured, unreadable = [], []
    for i in indices:
        item = ds.X[i]
        try:
            measured.append(measure(item, decode))
        except Exception as err:  # every failure is reported, never fatal to the summary
            unreadable.append({"item": str(item) if isinstance(item, (str, Path)) else f"#{i}",
                               "reason": getattr(err, "reason", None) or str(err)})
    out = {"checked": {"items": int(len(indices)), "sampled": bool(len(indices) < n), "decoded": decode},
           "unreadable": unreadable}
    if item_kind == "audio":
        durations = [m["seconds"] for m in measured]
        out["durations_seconds"] = {**_stats(durations), "total": round(float(np.sum(durations)), 2) if durations else 0.0}
        out["sample_rates"] = dict(Counter(str(m["rate"]) for m in measured))
        out["channels"] = dict(Counter(str(m["channels"]) for m in measured))
    elif item_kind == "image":
        out["image_sizes"] = dict(Counter(f"{m['width']}x{m['height']}" for m in measured).most_common(MAX_LISTED))
        out["image_modes"] = dict(Counter(m["mode"] for m in measured))
    return out


def _measure_audio(item, decode: bool) -> dict:
    """One clip's duration, rate and channels, from its header (or by decoding it when `decode`)."""
    if isinstance(item, (str, Path)):
        import soundfile as sf

        from ..data.audio import load_audio

        try:
            info = sf.info(str(item))
        except Exception as err:
            raise ValueError(f"cannot read audio header: {err}") from None
        if decode:
            load_audio(item, sample_rate=None)
        return {"seconds": info.frames / info.samplerate, "rate": info.samplerate, "channels": info.channels}
    samples, rate = item if isinstance(item, tuple) else (item, None)
    return {"seconds": len(samples) / rate if rate else float("nan"), "rate": rate, "channels": 1}


def _measure_image(item, decode: bool) -> dict:
    """One image's size and mode, from its header (or by decoding it when `decode`)."""
    if isinstance(item, (str, Path)):
        from PIL import Image

        from ..data.image import load_image

        if decode:
            array = load_image(item)
            return {"width": array.shape[1], "height": array.shape[0], "mode": "L" if array.ndim == 2 else "RGB"}
        with Image.open(item) as image:
            return {"width": image.size[0], "height": image.size[1], "mode": image.mode}
    array = np.asarray(item)
    return {"width": array.shape[1], "height": array.shape[0], "mode": "L" if array.ndim == 2 else "RGB"}


def _readable(task: str):
    """For a kind of item with no header to measure: with `decode`, read each item through its task."""

    def check(item, decode: bool) -> dict:
        if decode:
            get_task(task).read(item)
        return {}

    return check


# What `data show` measures of one item, by item kind.
MEASURES = {"audio": _measure_audio, "image": _measure_image}


def _stats(values) -> dict:
    if len(values) == 0:
        return {"min": None, "mean": None, "max": None}
    values = np.asarray(values, dtype=np.float64)
    return {"min": round(float(values.min()), 3), "mean": round(float(values.mean()), 3), "max": round(float(values.max()), 3)}


def format_summary(s: dict) -> str:
    """The summary as text for a person."""
    pair = f", {' -> '.join(s['languages'])}" if s.get("languages") else ""
    lines = [f"{s['name'] or s['source']}  ({s['task']}{pair}, from {s['source']})",
             f"  items: {s['items']:,}" + (f"  ({', '.join(f'{k} {v:,}' for k, v in s['splits'].items())})" if s["splits"] else "")]
    g = s["groups"]
    task = get_task(s["task"])
    if task.holdout == "groups" or g["count"] > 1:
        shown = ", ".join(f"{k} {v}" for k, v in g["largest"].items()) if g["count"] <= MAX_LISTED else \
            f"{g['items_per_group']['min']:g}-{g['items_per_group']['max']:g} items each"
        lines.append(f"  {task.group_name}s: {g['count']:,}  ({shown})")
    if "classes" in s:
        lines.append(f"  classes: {len(s['classes'])}  ({', '.join(f'{k} {v}' for k, v in s['classes'].items())})")
    elif "boxes" in s:
        b = s["boxes"]
        if b["count"]:
            lines.append(f"  boxes: {b['count']:,}  ({b['per_item']['min']:g}-{b['per_item']['max']:g} per item, "
                         f"{b['items_without']} without any; width {b['width_px']['min']:g}-{b['width_px']['max']:g} px, "
                         f"mean {b['width_px']['mean']:g})")
        else:
            lines.append("  boxes: none")
    else:
        v = s["vocabulary"]
        lines.append(f"  words: {v['size']:,}  ({', '.join(f'{k} {c}' for k, c in list(v['words'].items())[:30])}"
                     f"{', ...' if v['size'] > 30 else ''})")
        t = s["transcripts"]
        per = t["words_per_transcript"]
        lengths = f"{per['min']:g}-{per['max']:g}" if t["distinct"] else "none"
        lines.append(f"  distinct transcripts: {t['distinct']:,}; words per transcript {lengths}"
                     + (f"; unlabeled clips: {t['unlabeled']:,}" if t["unlabeled"] else ""))
    checked = s["checked"]
    how = f"a random sample of {checked['items']:,} items" if checked["sampled"] else f"all {checked['items']:,} items"
    how += " (decoded)" if checked["decoded"] else " (headers)"
    if "durations_seconds" in s:
        d = s["durations_seconds"]
        if d["min"] is not None:
            lines.append(f"  duration: {d['min']:.2f}-{d['max']:.2f} s, mean {d['mean']:.2f} s, total {d['total'] / 60:.1f} min"
                         f"  [{how}]")
            lines.append(f"  sample rates: {', '.join(f'{k} Hz ({v})' for k, v in s['sample_rates'].items())}; "
                         f"channels: {', '.join(f'{k} ({v})' for k, v in s['channels'].items())}")
    elif s.get("image_sizes"):
        lines.append(f"  image sizes: {', '.join(f'{k} ({v})' for k, v in s['image_sizes'].items())}  [{how}]")
        lines.append(f"  modes: {', '.join(f'{k} ({v})' for k, v in s['image_modes'].items())}")
    lines.append(f"  unreadable: {len(s['unreadable'])}" + ("" if checked["decoded"] else " (headers only; --decode checks fully)"))
    lines += [f"    {u['item']}: {u['reason']}" for u in s["unreadable"][:MAX_LISTED]]
    if s["skipped_while_loading"]:
        lines.append(f"  skipped while loading: {len(s['skipped_while_loading'])}")
        lines += [f"    {u['item']}: {u['reason']}" for u in s["skipped_while_loading"][:MAX_LISTED]]
    return "\n".join(lines)
