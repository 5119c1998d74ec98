"""Why did a pipeline answer that, and how far can the explanation be trusted?

:func:`explain` (in :mod:`.api`) draws, for every input, what each pipeline based its answer on
(attribution maps, CTC and HMM alignments, keypoints coloured by their visual words) and scores
every explanation: deletion / insertion against random order (:mod:`.scores`) and the
model-randomisation sanity check (:mod:`.sanity`). The generic core (:mod:`.attribution`,
:mod:`.scores`, :mod:`.sanity`, :mod:`.ctc_alignment`, :mod:`.render`) works on any torch model
or scoring function; the four ``*_end_to_end`` / ``*_traditional`` modules adapt it to the
pipelines.
"""


def explain(model, inputs, methods=None, out_dir=None, target=None, **options):
    """See :func:`e2elab.explain.api.explain`."""
    from .api import explain as _explain

    return _explain(model, inputs, methods=methods, out_dir=out_dir, target=target, **options)


__all__ = ["explain"]
