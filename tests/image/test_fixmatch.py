"""FixMatch in the end-to-end image classifier: strong views, the masked consistency loss, and fit."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import e2elab
from e2elab.errors import ParameterError
from e2elab.image.backbones import Backbone
from e2elab.image.fixmatch import (
    COLOUR_OPS,
    THRESHOLD,
    FixMatchStep,
    consistency_loss,
    strong_augment,
)
from e2elab.image.transforms import Augment

TINY = dict(backbone=Backbone(width=4), input_size=8, epochs=2, batch_size=8, validation=0, device="cpu",
            progress=False)


def test_strong_augment_changes_images_but_keeps_shape_dtype_and_range_and_is_reproducible():
    images = torch.rand(16, 3, 16, 16)
    strong = strong_augment(images, torch.Generator().manual_seed(0))
    assert strong.shape == images.shape and strong.dtype == images.dtype
    assert strong.min() >= 0 and strong.max() <= 1
    assert (strong - images).abs().mean() > 0.05
    assert torch.equal(strong, strong_augment(images, torch.Generator().manual_seed(0)))
    assert not torch.equal(strong, strong_augment(images, torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("name", [name for name in COLOUR_OPS if name != "identity"])
def test_every_colour_change_changes_an_image(name):
    image = torch.linspace(0.1, 0.8, 3 * 8 * 8).reshape(1, 3, 8, 8)
    assert not torch.allclose(COLOUR_OPS[name](image, torch.full((1, 1, 1, 1), 0.7)), image)


class FixedLogits(torch.nn.Module):
    """A network whose prediction we set: the same logits for every image."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor(logits))

    def forward(self, x):
        return self.logits.expand(len(x), -1)


def no_labelled_loss(module, batch, device):
    return module(batch[0]).sum() * 0.0  # isolates the consistency loss, still through the module


def fixmatch_step():
    unlabeled = torch.randint(0, 256, (5, 1, 8, 8), dtype=torch.uint8)
    return FixMatchStep(no_labelled_loss, unlabeled, Augment(jitter=0.0, out_size=8), mean=[0.5], std=[0.25])


def test_consistency_loss_is_zero_below_the_threshold_and_positive_above_it():
    batch = (torch.zeros(3, 1, 8, 8), torch.zeros(3, dtype=torch.long))
    step = fixmatch_step()
    unsure = step(FixedLogits([0.0, 0.0]), batch, torch.device("cpu"))  # probability 0.5 for both classes
    assert unsure.item() == 0.0
    sure = step(FixedLogits([4.0, 0.0]), batch, torch.device("cpu"))  # 0.98 > THRESHOLD
    assert sure.item() > 0.0
    sure.backward()  # the strong views' logits carry the gradient
    # 6 of the 12 unlabeled images drawn (2 per labelled image) were confident; the tally restarts
    assert step.epoch_metrics() == {"confident_share": 0.5} and step.epoch_metrics() == {"confident_share": 0.0}


def test_consistency_loss_averages_over_all_unlabeled_images_not_only_the_confident():
    weak = torch.tensor([[5.0, 0.0], [0.0, 0.0]])  # the first is confident, the second not
    strong = torch.tensor([[0.0, 0.0], [0.0, 5.0]])
    loss, confident = consistency_loss(weak, strong, THRESHOLD)
    assert confident.tolist() == [True, False]
    assert float(loss) == pytest.approx(np.log(2) / 2)


def digits(n_per_class=10, labels_per_class=2):
    data = load_digits()
    picked = np.concatenate([np.flatnonzero(data.target == k)[:n_per_class] for k in range(10)])
    X = [(data.images[i] * 255 / 16).astype(np.uint8) for i in picked]
    y = data.target[picked].astype(object)
    unlabeled = np.concatenate([np.arange(k * n_per_class + labels_per_class, (k + 1) * n_per_class)
                                for k in range(10)])
    y[unlabeled] = -1
    return X, y


def test_fixmatch_fit_on_digits_uses_the_unlabeled_images_and_is_reproducible():
    X, y = digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # far too little data for the network: known, and beside the point
        first = e2elab.make_pipeline("image", "end-to-end", semi_supervised="fixmatch", **TINY).fit(X, y)
        again = e2elab.make_pipeline("image", "end-to-end", semi_supervised="fixmatch", **TINY).fit(X, y)
        without = e2elab.make_pipeline("image", "end-to-end", **TINY).fit(X, y)
    assert first.fixmatch_["unlabeled"] == 80 and len(first.classes_) == 10
    shares = first.fixmatch_["confident_share"]
    assert len(shares) == len(first.history_) == 2 and all(0.0 <= share <= 1.0 for share in shares)
    assert not hasattr(first, "_fixmatch_unlabeled")  # the handover is gone after fit
    weights, rerun = first.network_.state_dict(), again.network_.state_dict()
    assert all(torch.equal(weights[k], rerun[k]) for k in weights)  # same seed, same numbers
    assert any(not torch.equal(weights[k], v) for k, v in without.network_.state_dict().items())
    assert not hasattr(without, "fixmatch_")


def test_speech_refuses_fixmatch():
    recognizer = e2elab.make_pipeline("speech", "end-to-end", semi_supervised="fixmatch")
    with pytest.raises(ParameterError, match="semi_supervised.*'self_training'.*Got 'fixmatch'"):
        recognizer.fit([np.zeros(8000, dtype=np.float32)], ["go"])


def test_an_unreadable_unlabeled_image_is_skipped_and_counted_with_on_error_skip(tmp_path):
    X, y = digits(n_per_class=4)
    X[-1] = str(tmp_path / "missing.png")  # unlabeled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = e2elab.make_pipeline("image", "end-to-end", semi_supervised="fixmatch", on_error="skip",
                                     **TINY).fit(X, y)
    assert model.fixmatch_["unlabeled"] == 19
    assert model.n_skipped_ == 1 and "missing.png" in model.skipped_[0][0]


def test_a_checkpoint_is_resumed_only_with_the_same_unlabeled_images(tmp_path):
    from e2elab.errors import RunFolderError

    X, y = digits(n_per_class=4)
    other = list(X)
    other[-1] = 255 - other[-1]  # one unlabeled image changed
    params = dict(TINY, semi_supervised="fixmatch", checkpoint_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = e2elab.make_pipeline("image", "end-to-end", **params).fit(X, y)
        resumed = e2elab.make_pipeline("image", "end-to-end", **params).fit(X, y)
        assert resumed.history_ == first.history_
        # the finished run trains no epoch again, and still reports every epoch's share
        assert resumed.fixmatch_["confident_share"] == first.fixmatch_["confident_share"]
        assert len(first.fixmatch_["confident_share"]) == 2
        with pytest.raises(RunFolderError, match="another run"):
            e2elab.make_pipeline("image", "end-to-end", **params).fit(other, y)
