"""The image task: pixels in, a class out, measured by error rate (1 - accuracy).

Splits are stratified by class, or hold whole groups out where the data set names real groups;
learning curves grow by images.
"""

from . import ReportSection, Task, register_task

IMAGE = register_task(Task(
    name="image",
    item_kind="image",
    target_kind="class",
    metric="error",
    error_name="error rate",
    extensions="e2elab.data.image:IMAGE_EXTENSIONS",
    read_item="e2elab.data.image:as_image",
    readers={"folder": "e2elab.data.folders:load_folder", "table": "e2elab.data.manifests:load_table_manifest"},
    pipelines={"end-to-end": "e2elab.image.end_to_end", "traditional": "e2elab.image.traditional"},
    scores="e2elab.experiments.cells:class_scores",
    explainers={"end-to-end": "e2elab.explain.image_end_to_end:explain_image_end_to_end",
                "traditional": "e2elab.explain.image_traditional:explain_image_traditional"},
    report=ReportSection(confusion="e2elab.report.confusion:class_confusion", size_label="training items"),
))
