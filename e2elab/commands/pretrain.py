"""e2elab pretrain speech --out RUN: pretrain the end-to-end recogniser on synthetic speech, for init_from."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._arg_types import positive_int
from ._common import parse_params
from ._run_folder import check_model_folder, claim_run_folder

NAME = "pretrain"
HELP = "pretrain the end-to-end speech recogniser on generated speech; fine-tune it with --param init_from=RUN/model"
ORDER = 25
# What a pretraining run writes into RUN, and so what --overwrite discards.
OUTPUTS = ("checkpoints", "model", "train.json", "pretrain-plan.json")


def add_arguments(parser):
    parser.add_argument("task", choices=("speech",), help="the task to pretrain for (speech)")
    parser.add_argument("--out", required=True, metavar="RUN",
                        help="run folder: the model goes to RUN/model, the record (corpus, times) to RUN/train.json")
    parser.add_argument("--hours", type=_positive_number, default=1.0, help="hours of speech to generate (default 1)")
    parser.add_argument("--voices", nargs="+", metavar="VOICE",
                        help="espeak-ng voices (accents) to speak with, e.g. en-us en-gb-scotland (default: all of --language)")
    parser.add_argument("--language", default="en", help="espeak-ng language code (default en)")
    parser.add_argument("--words-from", metavar="DATA",
                        help="a data set (folder, manifest, built-in) whose transcripts' words are spoken in part of the clips")
    parser.add_argument("--max-minutes", type=_positive_number, metavar="M",
                        help="training time budget; sets the number of passes over the corpus (default: the recogniser's schedule)")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true", help="discard what an earlier run left in RUN")
    existing.add_argument("--resume", action="store_true",
                          help="continue the run in RUN from its last checkpoint (the same settings)")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE",
                        help="a parameter of the end-to-end recogniser (repeatable), e.g. --param width=96")
    parser.add_argument("--seed", type=int, default=0, help="fixes the corpus, the initialisation and the data order")
    parser.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                        help="worker processes that synthesise (default: every CPU)")


def run(args) -> int:
    from ..speech.pretrain import MODEL_FOLDER, pretrain_speech
    from ..synth.corpus import CorpusSettings

    run_dir = Path(args.out)
    settings = CorpusSettings(hours=args.hours, language=args.language, voices=tuple(args.voices or ()),
                              words=_words_of(args.words_from) if args.words_from else (), seed=args.seed)
    check_model_folder(run_dir / MODEL_FOLDER)
    claim_run_folder(run_dir, OUTPUTS, overwrite=args.overwrite, reuse=args.resume)
    record = pretrain_speech(run_dir, settings, max_minutes=args.max_minutes, params=parse_params(args.param),
                             n_jobs=args.jobs)
    made = record["pretraining"]
    print(f"pretrained on {record['n_train']} synthetic clips ({made['corpus']['audio_hours']:.2f} h, "
          f"{made['corpus']['voices_used']} voices) in {made['total_seconds'] / 60:.1f} min "
          f"(corpus {made['corpus_seconds']:.0f} s, training {made['train_seconds']:.0f} s)")
    print(f"model saved to {record['model']}; fine-tune it with --param init_from={record['model']}")
    return 0


def _words_of(source: str) -> tuple[str, ...]:
    """The distinct words of the transcripts of the speech data set `source`."""
    from ..experiments.runs import load_task_data

    dataset = load_task_data(source, "speech")
    return tuple(sorted({word for text in dataset.y for word in str(text).split()}))


def _positive_number(text: str) -> float:
    """A number above zero (hours of audio, minutes of training)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value:g}")
    return value
