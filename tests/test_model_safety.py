"""Model files are data, never code: hostile model folders are refused before anything runs.

Each test copies one real saved model (the traditional image classifier) and makes it hostile the
way an attacker would, updating the SHA-256 list in e2elab.json so that only the new checks can
catch it.
"""

import errno
import hashlib
import json
import os
import pickle
import shutil
import zipfile

import numpy as np
import pytest

import e2elab
from e2elab import io as model_io
from e2elab.cli import main
from e2elab.errors import ModelIntegrityError, RunFolderError, UnsafeModelError
from e2elab.image.traditional import TraditionalImageClassifier
from e2elab.model_files import skops_trust
from e2elab.model_files.files import MAX_META_BYTES
from e2elab.model_files.meta import META_FILE, WEIGHTS_FILE

SKOPS_FILE = "pipeline.skops"
KEY = b"a key shared by whoever publishes and whoever loads"


def tiny_images(n=12, seed=0):
    """Dark and light 16x16 noise: the traditional classifier separates them in a second."""
    rng = np.random.default_rng(seed)
    X = [(rng.random((16, 16)) * 100 + (150 if i % 2 else 0)).astype(np.uint8) for i in range(n)]
    return X, np.array(["dark", "light"] * (n // 2))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, y = tiny_images()
    model = TraditionalImageClassifier(descriptor="hog-global", classifier="rbf").fit(X, y)
    root = tmp_path_factory.mktemp("saved")
    model_io.save(model, root / "plain")
    model_io.save(model, root / "signed", sign_key=KEY)
    return root, X, model.predict(X)


@pytest.fixture
def folder(saved, tmp_path):
    """A private copy of the saved model, to be made hostile."""
    return shutil.copytree(saved[0] / "plain", tmp_path / "model")


@pytest.fixture
def signed(saved, tmp_path):
    return shutil.copytree(saved[0] / "signed", tmp_path / "signed")


def read_meta(folder):
    return json.loads((folder / META_FILE).read_text())


def write_meta(folder, meta):
    (folder / META_FILE).write_text(json.dumps(meta, indent=2))


def replace_file(folder, name, data: bytes):
    """Put `data` in the folder as `name` and record its SHA-256, as an attacker would."""
    (folder / name).write_bytes(data)
    meta = read_meta(folder)
    meta["files"][name] = hashlib.sha256(data).hexdigest()
    write_meta(folder, meta)


def skops_bytes(schema: dict) -> bytes:
    """A skops file holding `schema`, written by hand the way a crafted file would be."""
    from io import BytesIO

    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps({**schema, "protocol": 2, "_skops_version": "0.16.0"}))
    return buffer.getvalue()


def json_node(value, node_id):
    return {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "content": json.dumps(value),
            "is_json": True, "__id__": node_id}


def call_node(module, name, argv, marker_id=1000):
    """A node that makes skops call `module.name(argv)` while rebuilding the object."""
    arguments = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "__id__": marker_id + 1,
                 "content": [json_node(word, marker_id + 2 + i) for i, word in enumerate(argv)]}
    return {"__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode", "__id__": marker_id,
            "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                        "__id__": marker_id + 100, "content": [arguments]}}


def self_referencing_node(module, name, loader="ObjectNode"):
    """A node whose content is the node itself: rebuilding it recurses until Python gives up."""
    itself = {"__class__": name, "__module__": module, "__loader__": loader, "__id__": 7}
    return {**itself, "content": [itself] if loader == "ListNode" else itself}


# ---- skops: an exact list of names, each defined where it says --------------------------------


def test_a_function_reexported_under_sklearn_cannot_run_a_command(folder, tmp_path, capsys):
    """sklearn.utils._testing imports subprocess.check_output; its name must not make it trusted."""
    marker = tmp_path / "command-ran"
    replace_file(folder, SKOPS_FILE, skops_bytes(call_node("sklearn.utils._testing", "check_output",
                                                           ["sh", "-c", f"touch '{marker}'"])))
    with pytest.raises(UnsafeModelError, match="check_output") as refused:
        e2elab.load(folder)
    assert SKOPS_FILE in str(refused.value)
    image = tmp_path / "digit.png"
    image.write_bytes(b"never read")
    assert main(["predict", str(folder), str(image)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("e2elab predict: error:") and "check_output" in err and err.count("\n") == 1
    assert not marker.exists()


def test_a_listed_name_must_be_defined_under_that_name(folder, tmp_path, monkeypatch):
    """Even a list that named the re-export by mistake cannot be used: it resolves to subprocess."""
    marker = tmp_path / "command-ran"
    listed_by_mistake = skops_trust.TRUSTED_NAMES | {"sklearn.utils._testing.check_output"}
    monkeypatch.setattr(skops_trust, "TRUSTED_NAMES", listed_by_mistake)
    monkeypatch.setattr(skops_trust, "TRUSTED_LOADERS", skops_trust.TRUSTED_LOADERS | {"ConstructorFromReduceNode"})
    replace_file(folder, SKOPS_FILE, skops_bytes(call_node("sklearn.utils._testing", "check_output",
                                                           ["sh", "-c", f"touch '{marker}'"])))
    with pytest.raises(UnsafeModelError, match="subprocess.check_output"):
        e2elab.load(folder)
    assert not marker.exists()


def test_a_listed_class_cannot_be_called_with_arguments(folder):
    """The loader that calls a constructor with arguments is refused even for a trusted name."""
    replace_file(folder, SKOPS_FILE, skops_bytes(call_node("builtins", "list", ["a"])))
    with pytest.raises(UnsafeModelError, match="loader ConstructorFromReduceNode"):
        e2elab.load(folder)


def test_a_file_writing_class_of_a_trusted_module_is_refused_without_a_traceback(folder):
    replace_file(folder, SKOPS_FILE, skops_bytes(self_referencing_node("sklearn.utils._testing", "TempMemmap")))
    with pytest.raises(UnsafeModelError, match="sklearn.utils._testing.TempMemmap"):
        e2elab.load(folder)


@pytest.mark.parametrize("schema, reason", [
    (self_referencing_node("builtins", "list", loader="ListNode"), "RecursionError"),
    ({"__class__": "Pipeline", "__module__": "sklearn.pipeline", "__loader__": "ObjectNode", "__id__": 3,
      "content": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "__id__": 4, "content": []}},
     "Error"),
])
def test_a_failure_while_skops_rebuilds_is_a_one_line_error(folder, schema, reason):
    replace_file(folder, SKOPS_FILE, skops_bytes(schema))
    with pytest.raises(ModelIntegrityError, match=f"cannot be rebuilt by skops \\(\\w*{reason}") as refused:
        e2elab.load(folder)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("data, match", [(b"not a zip at all", "not a valid skops file"),
                                         (pickle.dumps({"a": 1}), "looks like a pickle")])
def test_a_skops_file_that_is_not_one_is_refused(folder, data, match):
    replace_file(folder, SKOPS_FILE, data)
    with pytest.raises((ModelIntegrityError, UnsafeModelError), match=match):
        e2elab.load(folder)


def test_every_trusted_name_is_defined_under_that_name():
    """The list itself must hold no re-export (and no name a library update has moved)."""
    assert {name: skops_trust._defined_name(name) for name in skops_trust.TRUSTED_NAMES} == {
        name: name for name in skops_trust.TRUSTED_NAMES}


def test_the_saved_pipeline_loads_and_predicts_as_before(saved):
    root, X, predictions = saved
    assert np.array_equal(e2elab.load(root / "plain").predict(X), predictions)


# ---- safetensors: the header is checked before safetensors reads it ---------------------------


def safetensors_bytes(header: dict, data: bytes, header_length: int | None = None) -> bytes:
    encoded = json.dumps(header).encode()
    return (len(encoded) if header_length is None else header_length).to_bytes(8, "little") + encoded + data


@pytest.mark.parametrize("data, error, match", [
    (pickle.dumps({"weights": [1.0]}), UnsafeModelError, "not a safetensors file; looks like a pickle"),
    (b"PK\x03\x04" + bytes(60), UnsafeModelError, "zip"),
    (safetensors_bytes({}, b"", header_length=2**60), ModelIntegrityError, "header length"),
    (safetensors_bytes({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}, bytes(16)),
     ModelIntegrityError, "data_offsets"),
    (safetensors_bytes({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}, bytes(16)),
     ModelIntegrityError, "needs 8"),
    (safetensors_bytes({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, bytes(16)),
     ModelIntegrityError, "shape"),
    (b"\x05" + bytes(7) + b"{oops", ModelIntegrityError, "header is not JSON"),
])
def test_hostile_weights_are_refused(folder, data, error, match):
    replace_file(folder, WEIGHTS_FILE, data)
    with pytest.raises(error, match=match):
        e2elab.load(folder)


# ---- file entries stay inside the folder, as regular files of bounded size ---------------------


@pytest.mark.parametrize("entry, match", [("../x", "climbs out"), ("/etc/passwd", "absolute path"),
                                          ("sub/x", "not a plain file name"), ("..\\x", "climbs out")])
def test_file_entries_that_leave_the_folder_are_refused(folder, entry, match):
    (folder.parent / "x").write_bytes(b"secret")
    meta = read_meta(folder)
    meta["files"][entry] = hashlib.sha256(b"secret").hexdigest()
    write_meta(folder, meta)
    with pytest.raises(UnsafeModelError, match=match):
        e2elab.load(folder)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_weights_linked_to_dev_zero_are_refused_before_hashing(folder):
    (folder / WEIGHTS_FILE).unlink()
    (folder / WEIGHTS_FILE).symlink_to("/dev/zero")
    with pytest.raises(UnsafeModelError, match="symbolic link"):
        e2elab.load(folder)


@pytest.mark.parametrize("target", ["outside", "inside"])
def test_symbolic_links_are_refused_wherever_they_point(folder, target):
    """A link to a file with the right content is still refused: the checksum would vouch for a link."""
    weights = folder / WEIGHTS_FILE
    real = (folder.parent / "elsewhere.safetensors") if target == "outside" else (folder / "copy.safetensors")
    weights.rename(real)
    weights.symlink_to(real)
    with pytest.raises(UnsafeModelError, match="symbolic link"):
        e2elab.load(folder)


def test_a_weights_folder_instead_of_a_file_is_refused(folder):
    (folder / WEIGHTS_FILE).unlink()
    (folder / WEIGHTS_FILE).mkdir()
    with pytest.raises(UnsafeModelError, match="not a regular file"):
        e2elab.load(folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_meta_file_that_is_a_fifo_is_refused_without_blocking(folder):
    (folder / META_FILE).unlink()
    os.mkfifo(folder / META_FILE)
    with pytest.raises(UnsafeModelError, match="not a regular file"):
        e2elab.load(folder)


def test_a_huge_or_linked_meta_file_is_refused(folder, tmp_path):
    meta = folder / META_FILE
    meta.rename(tmp_path / "real.json")
    meta.symlink_to(tmp_path / "real.json")
    with pytest.raises(UnsafeModelError, match="symbolic link"):
        e2elab.load(folder)
    meta.unlink()
    with open(meta, "wb") as handle:
        handle.truncate(MAX_META_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ModelIntegrityError, match="limit"):
        e2elab.load(folder)


def test_files_the_meta_does_not_list_are_never_read(folder, saved):
    """Only listed files are read, so an unlisted pickle beside them is harmless and ignored."""
    (folder / "notes.pkl").write_bytes(pickle.dumps("never unpickled"))
    _, X, predictions = saved
    assert np.array_equal(e2elab.load(folder).predict(X), predictions)


# ---- e2elab.json: schema, versions, registered pipelines ---------------------------------------


@pytest.mark.parametrize("change, match", [
    ({"task": "holography"}, "unknown task 'holography'"),
    ({"pipeline": "quantum"}, "no pipeline 'quantum'"),
    ({"format_version": 99}, "newer e2elab"),
    ({"format_version": 0}, "older e2elab.*retrain it with this version"),
    ({"format_version": 1}, r"older e2elab \(format 1; this e2elab reads format 2\); retrain it with this version"),
    ({"format_version": "1"}, "format_version must be an integer"),
    ({"format": "pytorch"}, "not an e2elab model"),
    ({"params": [1, 2]}, "params: .* is not of type 'object'"),
    ({"files": {WEIGHTS_FILE: "not-a-hash"}}, "files/weights.safetensors: .*does not match"),
    ({"files": ["weights.safetensors"]}, "files: .* is not of type 'object'"),
    ({"run_this": "rm -rf /"}, "Additional properties are not allowed"),
    ({"files": {"model.pkl": "0" * 64}}, "neither weights.safetensors nor a .skops file"),
])
def test_meta_that_does_not_fit_the_schema_is_refused(folder, change, match):
    write_meta(folder, {**read_meta(folder), **change})
    with pytest.raises(ModelIntegrityError, match=match) as refused:
        e2elab.load(folder)
    assert META_FILE in str(refused.value) and "\n" not in str(refused.value)


def test_meta_missing_a_field_names_it(folder):
    meta = read_meta(folder)
    del meta["state"]
    write_meta(folder, meta)
    with pytest.raises(ModelIntegrityError, match="'state' is a required property"):
        e2elab.load(folder)


def test_edited_parameters_that_do_not_fit_the_pipeline_are_a_clear_error(folder):
    meta = read_meta(folder)
    meta["params"]["shell"] = "rm -rf /"
    write_meta(folder, meta)
    with pytest.raises(ModelIntegrityError, match="do not fit TraditionalImageClassifier"):
        e2elab.load(folder)


# ---- signatures ------------------------------------------------------------------------------


def test_a_signed_model_loads_with_its_key_given_as_bytes_or_str(signed, saved):
    _, X, predictions = saved
    assert np.array_equal(model_io.load(signed, verify_key=KEY).predict(X), predictions)
    assert model_io.load(signed, verify_key=KEY.decode()).predict(X).tolist() == predictions.tolist()
    assert read_meta(signed)["signature"]["alg"] == "hmac-sha256"
    e2elab.load(signed)  # no key: the signature is not checked, the model still loads


def test_a_wrong_key_or_no_signature_is_refused(signed, folder):
    with pytest.raises(UnsafeModelError, match="signature does not match"):
        model_io.load(signed, verify_key=b"another key")
    with pytest.raises(UnsafeModelError, match="not signed"):
        model_io.load(folder, verify_key=KEY)


@pytest.mark.parametrize("tamper", ["meta", "weights"])
def test_a_model_changed_after_signing_is_refused(signed, tamper):
    if tamper == "meta":
        meta = read_meta(signed)
        meta["params"]["C"] = 1e6
        write_meta(signed, meta)
    else:  # new weights with their checksum updated: enough to fool the checksums, not the signature
        from safetensors.numpy import save

        replace_file(signed, WEIGHTS_FILE, save({"select/support_": np.ones(3, bool)}))
    with pytest.raises(UnsafeModelError, match="signature does not match"):
        model_io.load(signed, verify_key=KEY)


def test_the_verify_key_can_come_from_the_environment(signed, folder, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("E2ELAB_VERIFY_KEY", KEY.decode())
    e2elab.load(signed)
    with pytest.raises(UnsafeModelError, match="E2ELAB_VERIFY_KEY"):
        e2elab.load(folder)
    image = tmp_path / "x.png"
    image.write_bytes(b"never read")
    assert main(["predict", str(folder), str(image)]) == 1
    assert "not signed" in capsys.readouterr().err
    monkeypatch.setenv("E2ELAB_VERIFY_KEY", "another key")
    with pytest.raises(UnsafeModelError, match="signature does not match"):
        e2elab.load(signed)
    model_io.load(signed, verify_key=KEY)  # an explicit key wins over the environment


# ---- saving -----------------------------------------------------------------------------------


def test_a_failed_save_keeps_the_previous_model_and_says_why(saved, tmp_path, monkeypatch):
    root, X, predictions = saved
    target = shutil.copytree(root / "plain", tmp_path / "model")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    model = e2elab.load(target)

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(model_io, "atomic_write_bytes", disk_full)
    with pytest.raises(RunFolderError, match="No space left on device") as refused:
        model_io.save(model, target)
    assert str(target) in str(refused.value)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging folder left


def test_save_refuses_to_replace_a_file(saved, tmp_path):
    model = e2elab.load(saved[0] / "plain")
    (tmp_path / "model").write_text("my notes")
    with pytest.raises(RunFolderError, match="not a folder"):
        model_io.save(model, tmp_path / "model")
    assert (tmp_path / "model").read_text() == "my notes"

