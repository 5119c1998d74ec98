"""The translation task: a source sentence in, its translation out, measured by BLEU.

The error (``bleu_error`` in result files, beside ``bleu`` itself) is 1 - BLEU/100 (sacreBLEU, its default 13a tokenisation), so that learning curves and
comparisons read the same way as for the other tasks; the pipelines' `score` is BLEU/100.
Sentences carry no speakers or classes, so splits hold random sentence pairs out (a data set's
own train / val / test files win, as everywhere) and learning curves grow by sentence pairs.

Data: a folder of parallel files ``<split>.<language>[.gz]`` whose name ends in the language
pair (``corpus.de-en``: German into English), a tsv manifest with ``source`` and ``target``
columns, or the built-in ``multi30k`` (German, English, French, Czech; German into English unless
``--source`` / ``--target`` choose another pair, as they do for any folder of several languages).
"""

from . import ReportSection, Task, register_task

TRANSLATION = register_task(Task(
    name="translation",
    item_kind="text",
    target_kind="translation",
    metric="bleu_error",
    error_name="1 - BLEU/100",
    extensions=(".txt",),
    read_item="e2elab.translation.datasets:read_sentence",
    readers={"folder": "e2elab.translation.datasets:read_folder_dataset",
             "table": "e2elab.translation.datasets:read_manifest_dataset"},
    pipelines={"end-to-end": "e2elab.translation.end_to_end", "traditional": "e2elab.translation.traditional"},
    scores="e2elab.translation.datasets:translation_scores",
    explainers={"end-to-end": "e2elab.explain.translation_end_to_end:explain_translation_end_to_end",
                "traditional": "e2elab.explain.translation_traditional:explain_translation_traditional"},
    report=ReportSection(confusion="e2elab.translation.datasets:no_confusion", size_label="training sentence pairs",
                         examples="e2elab.report.translation_examples:translation_examples"),
    holdout="items",
    inputs="e2elab.translation.datasets:command_line_sentences",
    claims="e2elab.translation.datasets:is_parallel_source",
))
