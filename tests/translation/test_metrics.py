"""BLEU and chrF come from sacreBLEU with its defaults, and say so in their signatures."""

import pytest
import sacrebleu

from e2elab.errors import DataError
from e2elab.translation import metrics

HYPOTHESES = ["A dog runs across the green grass.", "Two men are playing chess in a park.", "A woman sings."]
REFERENCES = ["A dog is running on the green grass.", "Two men play chess in the park.", "A woman is singing."]


def test_bleu_and_chrf_agree_with_sacrebleu():
    assert metrics.bleu(HYPOTHESES, REFERENCES) == pytest.approx(sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES]).score)
    assert metrics.chrf(HYPOTHESES, REFERENCES) == pytest.approx(sacrebleu.corpus_chrf(HYPOTHESES, [REFERENCES]).score)
    assert metrics.bleu(REFERENCES, REFERENCES) == pytest.approx(100.0)
    assert 0.0 < metrics.bleu(HYPOTHESES, REFERENCES) < 100.0


def test_signatures_name_the_settings():
    bleu_signature = metrics.signature("bleu")
    assert "tok:13a" in bleu_signature and f"version:{sacrebleu.__version__}" in bleu_signature
    assert "nc:6" in metrics.signature("chrf")
    result = metrics.scores(HYPOTHESES, REFERENCES)
    assert result["bleu_signature"] == bleu_signature and result["chrf"] > 0
    with pytest.raises(ValueError, match="metric"):
        metrics.signature("ter")


def test_bad_input_is_a_data_error():
    with pytest.raises(DataError, match="3 hypotheses but 2 references"):
        metrics.bleu(HYPOTHESES, REFERENCES[:2])
    with pytest.raises(DataError, match="no sentences"):
        metrics.bleu([], [])
    with pytest.raises(DataError, match="hypothesis 1 is a NoneType"):
        metrics.chrf(["a", None, "c"], REFERENCES)
