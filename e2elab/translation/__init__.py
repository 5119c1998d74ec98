"""Translation (sentence in one language -> sentence in another): corpora, scoring and pipelines.

The traditional pipeline is phrase-based statistical machine translation
(:class:`~e2elab.translation.traditional.PhraseBasedTranslator`).
"""

from .corpus import ParallelCorpus, read_multi30k, read_parallel_folder, read_parallel_manifest
from .metrics import bleu, chrf, signature

__all__ = ["ParallelCorpus", "read_parallel_folder", "read_parallel_manifest", "read_multi30k",
           "bleu", "chrf", "signature"]
