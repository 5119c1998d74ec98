"""The speech task: an audio clip in, its transcript out, measured by word error rate.

Splits hold whole speakers out (a model that has heard the test speaker proves little), and
learning curves grow by speakers, so that a curve says how many speakers of data a pipeline needs.
"""

from . import ReportSection, Task, register_task

SPEECH = register_task(Task(
    name="speech",
    item_kind="audio",
    target_kind="transcript",
    metric="wer",
    error_name="word error rate",
    extensions="e2elab.data.audio:AUDIO_EXTENSIONS",
    read_item="e2elab.data.audio:as_waveform",
    readers={"folder": "e2elab.data.folders:load_folder", "table": "e2elab.data.manifests:load_table_manifest",
             "jsonl": "e2elab.data.manifests:load_jsonl_manifest", "kaldi": "e2elab.data.kaldi:load_kaldi_dir"},
    pipelines={"end-to-end": "e2elab.speech.end_to_end", "traditional": "e2elab.speech.traditional"},
    scores="e2elab.experiments.cells:transcript_scores",
    explainers={"end-to-end": "e2elab.explain.speech_end_to_end:explain_speech_end_to_end",
                "traditional": "e2elab.explain.speech_traditional:explain_speech_traditional"},
    report=ReportSection(confusion="e2elab.report.confusion:word_confusion", size_label="training speakers"),
    holdout="groups",
    group_name="speaker",
    curve_unit="groups",
))
