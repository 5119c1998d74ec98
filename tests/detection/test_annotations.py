import json

import numpy as np
import pytest
from PIL import Image

from e2elab.detection.annotations import load_facemask, read_annotations, read_box_table, read_coco, read_voc
from e2elab.errors import DataError, ManifestError


@pytest.fixture
def photos(tmp_path):
    """Three 100x80 photos under tmp_path/images."""
    (tmp_path / "images").mkdir()
    for name in ("a.jpg", "b.jpg", "c.png"):
        Image.fromarray(np.zeros((80, 100, 3), np.uint8)).save(tmp_path / "images" / name)
    return tmp_path


def _table(folder, rows, name="boxes.tsv", sep="\t"):
    lines = [sep.join(["path", "x", "y", "w", "h", "label"])] + [sep.join(map(str, r)) for r in rows]
    (folder / name).write_text("\n".join(lines) + "\n")
    return folder / name


def test_box_table_reads_boxes_keeps_background_images_and_clips(photos):
    _table(photos, [("images/a.jpg", 10, 20, 30, 40, "with_mask"), ("images/a.jpg", 90, 0, 20, 10, "without_mask"),
                    ("images/b.jpg", 1, 2, 3, 4, "with_mask")])
    with pytest.warns(UserWarning, match="1 box\\(es\\) clipped"):
        data = read_annotations(photos)
    names = [p.name for p in data.paths]
    assert names == ["a.jpg", "b.jpg", "c.png"]
    np.testing.assert_allclose(data.boxes[0], [[10, 20, 30, 40], [90, 0, 10, 10]])
    assert data.labels[0].tolist() == ["with_mask", "without_mask"]
    assert data.boxes[2].shape == (0, 4)  # c.png has no face: background
    assert (data.n_boxes, data.clipped) == (3, 1)


def test_csv_table_without_labels(photos):
    (photos / "boxes.csv").write_text("path,x,y,w,h\nimages/c.png,1,1,5,5\n")
    data = read_annotations(photos / "boxes.csv")
    assert data.labels[[p.name for p in data.paths].index("c.png")].tolist() == ["face"]


def test_table_row_naming_a_missing_image_is_an_error_with_its_line_or_skipped(photos):
    table = _table(photos, [("images/a.jpg", 1, 1, 5, 5, "x"), ("images/gone.jpg", 1, 1, 5, 5, "x")])
    with pytest.raises(DataError, match=r"boxes.tsv:3: names image .*gone.jpg, which does not exist"):
        read_box_table(table)
    with pytest.warns(UserWarning, match="skipped 1"):
        data = read_box_table(table, on_error="skip")
    assert data.n_boxes == 1 and data.skipped[0][0].endswith("boxes.tsv:3")


def test_table_with_a_bad_number_or_missing_column(photos):
    table = _table(photos, [("images/a.jpg", 1, "one", 5, 5, "x")])
    with pytest.raises(DataError, match="boxes.tsv:2: x, y, w, h must be numbers"):
        read_box_table(table)
    (photos / "boxes.tsv").write_text("path\tx\ty\n")
    with pytest.raises(ManifestError, match="missing column\\(s\\) w, h"):
        read_box_table(table)


def _voc(path, filename, objects):
    body = "".join(f"<object><name>{n}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax>"
                   f"<ymax>{d}</ymax></bndbox></object>" for n, (a, b, c, d) in objects)
    path.write_text(f"<annotation><filename>{filename}</filename><size><width>100</width><height>80</height>"
                    f"</size>{body}</annotation>")


def test_voc_reader_finds_images_beside_the_annotations_folder(photos):
    (photos / "Annotations").mkdir()
    _voc(photos / "Annotations" / "a.xml", "a.jpg", [("face", (10, 20, 40, 60)), ("face", (50, 5, 60, 15))])
    _voc(photos / "Annotations" / "c.xml", "c.png", [])
    data = read_annotations(photos)
    assert [p.name for p in data.paths] == ["a.jpg", "c.png"]
    np.testing.assert_allclose(data.boxes[0], [[10, 20, 30, 40], [50, 5, 10, 10]])
    assert data.boxes[1].shape == (0, 4)


def test_voc_errors_name_the_xml_file(photos):
    (photos / "Annotations").mkdir()
    _voc(photos / "Annotations" / "x.xml", "missing.jpg", [("face", (1, 1, 5, 5))])
    with pytest.raises(DataError, match="x.xml: names image .*missing.jpg"):
        read_voc(photos)
    (photos / "Annotations" / "x.xml").write_text("<annotation><filename>a.jpg</filename>\n<object>")
    with pytest.raises(DataError, match="x.xml:2: not well-formed XML"):
        read_voc(photos)


def test_coco_reader_maps_categories_and_keeps_images_without_annotations(photos):
    coco = {"images": [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 80}, {"id": 8, "file_name": "b.jpg"}],
            "annotations": [{"image_id": 7, "bbox": [1, 2, 3, 4], "category_id": 2}],
            "categories": [{"id": 2, "name": "with_mask"}]}
    (photos / "images" / "faces.json").write_text(json.dumps(coco))
    data = read_annotations(photos / "images" / "faces.json")
    assert [p.name for p in data.paths] == ["a.jpg", "b.jpg"]
    np.testing.assert_allclose(data.boxes[0], [[1, 2, 3, 4]])
    assert data.labels[0].tolist() == ["with_mask"] and data.boxes[1].shape == (0, 4)


def test_coco_errors_name_the_entry(photos):
    coco = {"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 5, "bbox": [1, 2, 3, 4]}]}
    (photos / "c.json").write_text(json.dumps(coco))
    with pytest.raises(DataError, match=r"c.json \(annotations\[0\]\): refers to image id 5"):
        read_coco(photos / "c.json", images_dir=photos / "images")
    (photos / "c.json").write_text("{\n  \"images\": [,]}")
    with pytest.raises(ManifestError, match="c.json:2: not valid JSON"):
        read_coco(photos / "c.json")


def test_unknown_layout_is_refused(tmp_path):
    with pytest.raises(ManifestError, match="holds no box table"):
        read_annotations(tmp_path)


def test_facemask_reads_every_photo_and_face(shared_data, monkeypatch):
    monkeypatch.setenv("E2ELAB_DATA_DIR", str(shared_data("facemask").parent))
    with pytest.warns(UserWarning, match="clipped"):  # a few boxes reach past the right edge
        data = load_facemask()
    assert len(data) == 640 and data.n_boxes == 2942
    assert all(b[:, 2].min() > 0 for b in data.boxes if len(b))
