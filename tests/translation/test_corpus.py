"""Reading parallel corpora: folders of line-aligned files, TSV manifests, and Multi30k."""

import gzip

import pytest

from e2elab.errors import DataError, ManifestError
from e2elab.translation.corpus import read_lines, read_multi30k, read_parallel_folder, read_parallel_manifest


def write(path, lines, compress=False):
    data = "".join(f"{line}\n" for line in lines).encode("utf-8")
    if compress:
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)


@pytest.fixture
def folder(tmp_path):
    write(tmp_path / "train.de.gz", ["ein Hund", "zwei Katzen", "ein Haus"], compress=True)
    write(tmp_path / "train.en.gz", ["a dog", "two cats", "a house"], compress=True)
    write(tmp_path / "train.fr", ["un chien", "deux chats", "une maison"])
    write(tmp_path / "val.de", ["ein Baum"])
    write(tmp_path / "val.en", ["a tree"])
    return tmp_path


def test_folder_reads_every_split_of_a_language_pair(folder):
    corpus = read_parallel_folder(folder, "de", "en")
    assert corpus.split_names == ["train", "val"]
    assert corpus.sources == ["ein Hund", "zwei Katzen", "ein Haus", "ein Baum"]
    assert corpus.targets == ["a dog", "two cats", "a house", "a tree"]
    assert corpus.subset("val").sources == ["ein Baum"] and len(corpus.subset("train")) == 3
    reverse = read_parallel_folder(folder, "fr", "de", splits=["train"])
    assert reverse.sources[1] == "deux chats" and reverse.targets[1] == "zwei Katzen"
    assert (reverse.source_language, reverse.target_language) == ("fr", "de")
    with pytest.raises(DataError, match="no split 'test'"):
        corpus.subset("test")


def test_folder_names_the_languages_it_has(folder):
    with pytest.raises(DataError, match=r"no 'cs' files .*\['de', 'en', 'fr'\]"):
        read_parallel_folder(folder, "cs", "en")
    with pytest.raises(DataError, match=r"no file val.fr"):
        read_parallel_folder(folder, "de", "fr", splits=["val"])


def test_line_count_mismatch_names_both_files(folder):
    write(folder / "val.en", ["a tree", "a second line"])
    with pytest.raises(DataError, match=r"val.de has 1 lines but val.en has 2"):
        read_parallel_folder(folder, "de", "en")


def test_two_files_for_one_split_and_language_are_ambiguous(folder):
    write(folder / "train.de", ["ein Hund", "zwei Katzen", "ein Haus"])
    with pytest.raises(DataError, match=r"has both train.de and train.de.gz"):
        read_parallel_folder(folder, "de", "en")


def test_empty_lines_raise_with_file_and_line_or_are_skipped_and_counted(folder):
    (folder / "train.de.gz").unlink()
    (folder / "train.en.gz").unlink()
    write(folder / "train.de", ["ein Hund", "   ", "ein Haus", "Baum"])
    write(folder / "train.en", ["a dog", "nothing", "", "tree"])
    with pytest.raises(DataError, match=r"train.de, line 2: is empty"):
        read_parallel_folder(folder, "de", "en", splits=["train"])
    corpus = read_parallel_folder(folder, "de", "en", splits=["train"], on_error="skip")
    assert corpus.sources == ["ein Hund", "Baum"] and corpus.skipped["empty"] == 2


def test_over_long_lines_are_refused(folder):
    write(folder / "val.de", ["wort " * 500])
    with pytest.raises(DataError, match=r"val.de, line 1: is too long \(500 tokens"):
        read_parallel_folder(folder, "de", "en", splits=["val"])
    corpus = read_parallel_folder(folder, "de", "en", splits=["val"], on_error="skip")
    assert len(corpus) == 0 and corpus.skipped["too long"] == 1
    write(folder / "val.de", ["x" * 20_000])
    with pytest.raises(DataError, match="20000 characters"):
        read_parallel_folder(folder, "de", "en", splits=["val"], max_tokens=10**6)


def test_bytes_that_are_not_text_name_file_and_line(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("gut\nschön\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.txt, line 2: is not UTF-8 text \(byte 0xf6"):
        read_lines(tmp_path / "latin1.txt")
    (tmp_path / "binary.txt").write_bytes(b"fine\nnot\x00fine\n")
    with pytest.raises(DataError, match=r"binary.txt, line 2: holds binary data"):
        read_lines(tmp_path / "binary.txt")
    (tmp_path / "broken.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="broken.gz: cannot be read"):
        read_lines(tmp_path / "broken.gz")


def test_windows_line_ends_and_byte_order_mark_are_removed(tmp_path):
    (tmp_path / "crlf.txt").write_bytes("\ufeffone\r\ntwo\r\n".encode("utf-8"))
    assert read_lines(tmp_path / "crlf.txt") == ["one", "two"]


def test_manifest_reads_columns_and_splits(tmp_path):
    manifest = tmp_path / "pairs.tsv"
    manifest.write_text('split\ttarget\tsource\ntrain\ta "big" dog\tein "großer" Hund\ntest\ta cat\teine Katze\n',
                        encoding="utf-8")
    corpus = read_parallel_manifest(manifest, "de", "en")
    assert corpus.sources == ['ein "großer" Hund', "eine Katze"] and corpus.targets[0] == 'a "big" dog'
    assert corpus.split == ["train", "test"]


def test_manifest_errors_name_the_line(tmp_path):
    manifest = tmp_path / "pairs.tsv"
    manifest.write_text("source\ttranslation\nein Hund\ta dog\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"pairs.tsv, line 1: header .* lacks the column\(s\) \['target'\]"):
        read_parallel_manifest(manifest)
    manifest.write_text("source\ttarget\nein Hund\ta dog\neine Katze\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"pairs.tsv, line 3: has 1 tab-separated fields; the header has 2"):
        read_parallel_manifest(manifest)
    manifest.write_text("source\ttarget\nein Hund\t\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs.tsv, line 2: is empty"):
        read_parallel_manifest(manifest)
    assert read_parallel_manifest(manifest, on_error="skip").skipped["empty"] == 1


def test_multi30k_layout(shared_data):
    corpus = read_multi30k("de", "en", folder=shared_data("multi30k"))
    assert [len(corpus.subset(s)) for s in ("train", "val", "test_2016_flickr")] == [29000, 1014, 1000]
    assert corpus.subset("train").targets[0].startswith("Two young, White males")
