"""The README figure of the end-to-end detector: AP@0.5 on the facemask photos held out by image.

About 15-25 minutes on 2 CPU cores (80 epochs of 30 steps of 16 crops of 256 px, about half a
second a step on one core).
"""

import pytest

from e2elab.data.splits import random_holdout
from e2elab.detection.annotations import read_box_folder
from e2elab.detection.end_to_end import CNNDetector


@pytest.mark.slow
def test_facemask_ap50_on_held_out_photos(shared_data):
    faces = read_box_folder(shared_data("facemask"))
    train, test = random_holdout(len(faces), test_size=0.25, seed=0)
    model = CNNDetector(backbone="small", epochs=80, seed=0)
    model.fit([faces.paths[i] for i in train], [faces.boxes[i] for i in train])
    ap50 = model.score([faces.paths[i] for i in test], [faces.boxes[i] for i in test])
    assert ap50 >= 0.75
