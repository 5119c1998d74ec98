"""The traditional image classifier as a whole: contract, scikit-learn tools, saving, bad input."""

import warnings

import cv2
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_validate, learning_curve

import e2elab
from e2elab.errors import DataError, ImageError
from e2elab.image.traditional import TraditionalImageClassifier

FAST = dict(codebook_size=8, sizes=(16,), step=12)


def shapes(n=24, size=40, seed=0):
    """Three classes of noisy colour pictures: red squares, blue stripes, green discs."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        label = ("square", "stripes", "disc")[i % 3]
        image = np.full((size, size, 3), 30, np.uint8)
        if label == "square":
            a = rng.integers(4, 12)
            image[a:a + 20, a:a + 20] = (200, 40, 40)
        elif label == "stripes":
            for row in range(rng.integers(0, 4), size, 8):
                image[row:row + 4] = (40, 40, 220)
        else:
            cv2.circle(image, (20 + int(rng.integers(-4, 5)), 20), 11, (40, 200, 40), -1)
        X.append(np.clip(image + rng.integers(0, 40, image.shape), 0, 255).astype(np.uint8))
        y.append(label)
    return X, np.array(y)


@pytest.fixture(scope="module")
def data():
    return shapes()


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return TraditionalImageClassifier(**FAST).fit(X, y)


def test_is_registered_as_the_traditional_image_pipeline():
    model = e2elab.make_pipeline("image", "traditional", seed=3)
    assert isinstance(model, TraditionalImageClassifier) and model.seed == 3
    assert clone(model).get_params() == model.get_params()


def test_fit_predict_proba_score_on_a_synthetic_set(fitted, data):
    X, y = data
    test_X, test_y = shapes(9, seed=1)
    assert fitted.score(test_X, test_y) >= 0.8
    probabilities = fitted.predict_proba(test_X)
    assert probabilities.shape == (9, 3) and np.allclose(probabilities.sum(axis=1), 1)
    assert list(fitted.classes_) == ["disc", "square", "stripes"]
    assert fitted.descriptor_ == "sift+hsv-global" and fitted.classifier_ == "chi2"  # sizing rule for photos
    assert fitted.fit_report_["images"] == 24 and fitted.fit_report_["upsampled"] == 24
    assert fitted.fit_report_["keypoints"]["min"] > 0
    assert [name for name, _ in fitted.pipeline_.steps] == ["extract", "encode", "select", "classify"]


def test_small_images_get_whole_image_hog_and_an_rbf_svm():
    X, y = shapes(12, size=16)
    model = TraditionalImageClassifier().fit(X, y)
    assert (model.descriptor_, model.classifier_, model.image_size_) == ("hog-global", "rbf", 32)
    assert [s.name for s in model.stages] == ["input", "descriptors", "encoding", "selection", "classifier", "output"]
    outputs = model.stage_outputs(X[0])
    assert outputs["descriptors"]["hog_image"].shape == (32, 32) and outputs["encoding"]["vector"].shape == (324,)


def test_predict_details_ranks_every_class(fitted, data):
    details = fitted.predict_details(data[0][:2])
    assert details[0]["label"] == details[0]["top"][0]["label"]
    assert len(details[0]["top"]) == 3
    assert details[0]["top"][0]["probability"] >= details[0]["top"][-1]["probability"]


def test_stage_outputs_show_every_stage(fitted, data):
    outputs = fitted.stage_outputs(data[0][0])
    assert list(outputs) == [s.name for s in fitted.stages]
    assert outputs["keypoints"]["image"].shape == (64, 64, 3) and outputs["keypoints"]["n_points"] > 0
    assert outputs["descriptors"]["patches"].shape[1:] == (32, 32)
    assert outputs["encoding"]["vector"].shape == (fitted.pipeline_.named_steps["encode"].n_features_out_,)
    assert set(outputs["classifier"]) == {"disc", "square", "stripes"}
    assert outputs["output"] == fitted.predict(data[0][:1])[0]


@pytest.mark.parametrize("options", [
    dict(descriptor="rootsift+hsv", classifier="linear", selection="chi2", k=10),
    dict(descriptor="orb", detector="orb", classifier="logistic", selection="l1"),
    dict(descriptor="lbp+opponent-sift", detector="fast", classifier="rbf", selection="mutual_info", k=20),
    dict(descriptor="sift", encoding="vlad", classifier="rbf"),
    dict(descriptor="sift", detector="sift", encoding="fisher", classifier="linear", pyramid=(1,)),
    dict(descriptor="hog-global+lbp-global", classifier="logistic"),
])
def test_combinations_of_stages_fit_and_predict(options, data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # detector fallbacks on tiny pictures
        model = TraditionalImageClassifier(**{**FAST, **options}).fit(X, y)
    assert model.score(X, y) >= 0.6
    assert model.predict_proba(X[:3]).shape == (3, 3)


def test_chi2_kernel_needs_histograms():
    with pytest.raises(ValueError, match="chi-squared kernel needs histograms"):
        TraditionalImageClassifier(encoding="vlad", classifier="chi2").fit(*shapes(6))


def test_works_inside_cross_validate_and_learning_curve(data):
    X, y = data
    model = TraditionalImageClassifier(**FAST)
    scores = cross_validate(model, np.array(X), y, cv=StratifiedKFold(2, shuffle=True, random_state=0))
    assert len(scores["test_score"]) == 2 and (scores["test_score"] > 0.5).all()
    # unshuffled prefixes of the stratified folds keep every class at two images or more
    sizes, train, test = learning_curve(model, np.array(X), y, train_sizes=[0.5, 1.0],
                                        cv=StratifiedKFold(2, shuffle=True, random_state=0))
    assert test.shape == (2, 2) and np.isfinite(test).all()


def test_same_seed_same_model(data):
    X, y = data
    a = TraditionalImageClassifier(**FAST, seed=5).fit(X, y).predict_proba(X)
    b = TraditionalImageClassifier(**FAST, seed=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("options", [FAST, dict(FAST, descriptor="sift", encoding="vlad", selection="l1"),
                                     dict(descriptor="hog-global", image_size=32)])
def test_save_and_load_give_identical_predictions(options, data, tmp_path):
    X, y = data
    model = TraditionalImageClassifier(**options).fit(X, y)
    folder = e2elab.save(model, tmp_path / "model")
    assert (folder / "weights.safetensors").exists() and (folder / "pipeline.skops").exists()
    loaded = e2elab.load(folder)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.get_params() == model.get_params() and loaded.fit_report_ == model.fit_report_


def test_images_without_keypoints_still_get_a_prediction_and_are_counted(fitted, data):
    X, y = data
    model = TraditionalImageClassifier(**dict(FAST, detector="sift", descriptor="sift", min_points=0)).fit(X, y)
    blank = np.full((40, 40, 3), 128, np.uint8)
    assert model.predict([blank, X[0]])[0] in model.classes_
    assert model.prediction_report_["no_keypoints"] == 1 and model.prediction_report_["images"] == 2


def test_a_detector_that_finds_nothing_falls_back_and_says_so(data):
    X, y = data
    blank = [np.full((40, 40, 3), v, np.uint8) for v in (10, 200)]
    with pytest.warns(UserWarning, match="2 of 26 training images had too few sift keypoints"):
        model = TraditionalImageClassifier(**dict(FAST, detector="sift", descriptor="sift")).fit(X + blank, list(y) + ["disc", "square"])
    assert model.fit_report_["fallback"] >= 2


def test_one_class_and_single_image_classes_are_clear_errors(data):
    X, y = data
    with pytest.raises(DataError, match="at least two classes"):
        TraditionalImageClassifier(**FAST).fit(X[:6], ["a"] * 6)
    with pytest.raises(DataError, match="'lonely' has a single image"):
        TraditionalImageClassifier(**FAST).fit(X[:7], list(y[:6]) + ["lonely"])
    model = TraditionalImageClassifier(**FAST, on_error="skip").fit(X[:7], list(y[:6]) + ["lonely"])
    assert "lonely" not in model.classes_ and model.n_skipped_ == 1
    with pytest.raises(DataError, match="2 images but 3 labels"):
        TraditionalImageClassifier().fit(X[:2], y[:3])


def test_images_over_max_pixels_are_refused_or_skipped(data):
    X, y = data
    big = np.zeros((80, 80, 3), np.uint8)  # 6,400 pixels; the shapes have 1,600
    big[20:60, 20:60] = (200, 40, 40)
    with pytest.raises(ImageError, match="over the limit"):
        TraditionalImageClassifier(**FAST, max_pixels=2000).fit(list(X[:9]) + [big], list(y[:9]) + ["square"])
    model = TraditionalImageClassifier(**FAST, max_pixels=2000, on_error="skip").fit(list(X[:9]) + [big],
                                                                                    list(y[:9]) + ["square"])
    assert model.n_skipped_ == 1 and "over the limit" in model.skipped_[0][1]
    with pytest.raises(ImageError, match="over the limit"):
        model.predict([big])


def test_unreadable_files_raise_or_are_skipped_and_counted(data, tmp_path):
    X, y = data
    paths = []
    for i, image in enumerate(X[:9]):
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), image[:, :, ::-1])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.png").write_bytes(paths[0].read_bytes()[:50])
    bad = [tmp_path / "empty.png", tmp_path / "cut.png"]
    with pytest.raises(ImageError, match="empty.png"):
        TraditionalImageClassifier(**FAST).fit(paths + bad, list(y[:9]) + ["disc", "disc"])
    model = TraditionalImageClassifier(**FAST, on_error="skip").fit(paths + bad, list(y[:9]) + ["disc", "disc"])
    assert model.n_skipped_ == 2 and {s[0].split("/")[-1] for s in model.skipped_} == {"empty.png", "cut.png"}
    with pytest.raises(ImageError, match="cut.png"):
        model.predict([bad[1]])


def test_a_huge_photo_is_shrunk_before_description(fitted):
    big = cv2.resize(shapes(1)[0][0], (1600, 1200), interpolation=cv2.INTER_NEAREST)
    outputs = fitted.stage_outputs(big)
    assert max(outputs["keypoints"]["image"].shape[:2]) == 512


@pytest.mark.slow
def test_usps_error_is_at_most_4_5_percent(shared_data):
    train, test = e2elab.load_dataset("usps", split="train"), e2elab.load_dataset("usps", split="test")
    model = TraditionalImageClassifier(n_jobs=2).fit(train.X, train.y)
    assert 1 - model.score(test.X, test.y) <= 0.045


@pytest.mark.slow
def test_flowers5_accuracy_is_at_least_60_percent(shared_data):
    from sklearn.model_selection import train_test_split

    data = e2elab.load_dataset("flowers5")
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.25, stratify=data.y, random_state=0)
    model = TraditionalImageClassifier(n_jobs=2).fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.60
