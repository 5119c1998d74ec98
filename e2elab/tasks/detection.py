"""The detection task: a photo in, every face in it out as a box with a score, measured by
average precision at IoU 0.5 (error: 1 - AP@0.5; COCO's AP@[.5:.95] is reported beside it).

Targets are boxes, not classes: splits and learning curves draw random photos (there is no class
to stratify on), and curves grow by photos.
"""

from . import ReportSection, Task, register_task


def no_confusion(entry: dict) -> None:
    """Detection errors are misses and false boxes, not confusions between classes: no matrix to draw."""
    return None


DETECTION = register_task(Task(
    name="detection",
    item_kind="image",
    target_kind="boxes",
    metric="ap50_error",
    error_name="1 - average precision at IoU 0.5",
    extensions="e2elab.data.image:IMAGE_EXTENSIONS",
    read_item="e2elab.data.image:as_image",
    readers={"folder": "e2elab.detection.dataset:load_box_folder", "table": "e2elab.detection.dataset:load_box_table",
             "jsonl": "e2elab.detection.dataset:load_coco"},
    pipelines={"end-to-end": "e2elab.detection.end_to_end", "traditional": "e2elab.detection.traditional"},
    scores="e2elab.detection.metrics:box_scores",
    explainers={"end-to-end": "e2elab.explain.detection_end_to_end:explain_detection_end_to_end",
                "traditional": "e2elab.explain.detection_traditional:explain_detection_traditional"},
    report=ReportSection(confusion=no_confusion, size_label="training photos",
                         examples="e2elab.report.detection_examples:detection_examples"),
    holdout="items",
    curve_unit="items",
    claims="e2elab.detection.dataset:is_box_source",
))
