"""The README figure: German -> English on Multi30k, trained within an hour on a 2-core CPU."""

import pytest

from e2elab.translation.corpus import read_multi30k
from e2elab.translation.end_to_end import TransformerTranslator


@pytest.mark.slow
def test_multi30k_german_to_english_reaches_30_bleu(shared_data, tmp_path):
    corpus = read_multi30k("de", "en", folder=shared_data("multi30k"))
    train, val, test = (corpus.subset(split) for split in ("train", "val", "test_2016_flickr"))
    model = TransformerTranslator(seed=0, checkpoint_dir=str(tmp_path / "checkpoints"))
    model.fit(train.sources, train.targets, validation_data=(val.sources, val.targets))
    assert model.history_[-1]["val_loss"] < model.history_[0]["val_loss"]
    assert model.score(test.sources, test.targets) >= 0.30  # BLEU / 100
