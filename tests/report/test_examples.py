"""The report's example outputs: detection photos with boxes from a real compare run, translation
sentences side by side from a run's cells, each drawn by its task's report section."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from e2elab.detection.synthetic import face_photos
from e2elab.experiments.compare import compare
from e2elab.report.detection_examples import PHOTOS_SHOWN, display_threshold
from e2elab.report.html import build_report


def face_folder(root, n=16):
    photos, boxes = face_photos(n, seed=0)
    root.mkdir()
    rows = ["path\tx\ty\tw\th"]
    for i, (photo, faces) in enumerate(zip(photos, boxes)):
        Image.fromarray(photo).save(root / f"photo{i}.png")
        rows += [f"photo{i}.png\t{x}\t{y}\t{w}\t{h}" for x, y, w, h in faces]
    (root / "boxes.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_a_detection_compare_run_keeps_examples_the_report_draws(tmp_path):
    run = tmp_path / "run"
    compare("detection", str(face_folder(tmp_path / "faces")), run, pipelines=["traditional"], seeds=(0,),
            params={"traditional": {"min_face": 16, "mining_rounds": 1}}, progress=False)
    cell = json.loads(next((run / "cells").glob("*.json")).read_text())
    examples = cell["result"]["examples"]
    assert len(examples) == 4  # the whole 25% test split, under the cap
    assert all(example["item"].endswith(".png") and len(example["truth"]) == 2 for example in examples)
    assert {"boxes", "scores"} <= set(examples[0]["prediction"])
    page = build_report(run).read_text()
    section = page[page.index('<section id="examples">'):page.index('<section id="confusions">')]
    assert section.count('alt="boxes on photo') == PHOTOS_SHOWN  # of the 4 kept
    assert "AP@0.5" in section and f"{cell['result']['ap50']:.3f}" in section


def test_display_threshold_maximises_f1_on_the_photos_shown():
    truth = [np.array([[0, 0, 10, 10], [20, 20, 10, 10]], float)]
    boxes = [np.array([[0, 0, 10, 10], [50, 50, 10, 10], [20, 20, 10, 10], [70, 70, 5, 5]], float)]
    scores = [np.array([0.9, 0.8, 0.7, 0.1])]
    # Best first: hit, miss, hit, miss -> F1 2/3, 2/4, 4/5, 4/6: the third box's score.
    assert display_threshold(boxes, scores, truth) == 0.7
    assert display_threshold([boxes[0][1:2]], [scores[0][1:2]], truth) is None


def test_translation_examples_line_up_both_pipelines_with_the_signature(tmp_path):
    cells = tmp_path / "compare" / "cells"
    cells.mkdir(parents=True)
    signature = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.0"
    outputs = {"end-to-end": ["a dog runs .", "two <men> talk ."], "traditional": ["a dog is running .", "two men talk ."]}
    for kind, (bleu, translations) in zip(outputs, ((30.0, outputs["end-to-end"]), (20.0, outputs["traditional"]))):
        for seed in (0, 1):
            result = {"metric": 1 - bleu / 100, "bleu": bleu + seed, "chrf": 50.0, "bleu_signature": signature,
                      "confusion": {}}
            if seed == 0:
                result["examples"] = [{"item": source, "truth": reference, "prediction": translation} for
                                      source, reference, translation in zip(["ein Hund rennt .", "zwei Männer reden ."],
                                                                            ["a dog runs .", "two men talk ."], translations)]
            (cells / f"{kind}__holdout__seed{seed}.json").write_text(json.dumps(
                {"spec": {"task": "translation", "data": "tiny", "kind": kind, "seed": seed}, "result": result}))
    page = build_report(tmp_path).read_text()
    section = page[page.index('<section id="examples">'):page.index('<section id="confusions">')]
    assert "<td>ein Hund rennt .</td><td>a dog runs .</td><td>a dog runs .</td><td>a dog is running .</td>" in section
    assert "two &lt;men&gt; talk ." in section  # model output is escaped
    assert "BLEU 30.5" in section and "BLEU 20.5" in section and signature in section
