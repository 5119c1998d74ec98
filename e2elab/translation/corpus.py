"""Reading parallel corpora: pairs of sentences that translate each other, line by line.

Three layouts are read:

* a folder of parallel files named ``<split>.<language>`` (plain or ``.gz``), e.g. ``train.de`` /
  ``train.en``, where line i of one file translates line i of the other;
* a tab-separated manifest with a header naming ``source`` and ``target`` (and optionally
  ``split``) columns;
* the built-in Multi30k folder (``multi30k`` under ``$E2ELAB_DATA_DIR`` or the cache), which is the
  folder layout with splits ``train``, ``val`` and ``test_2016_flickr``.

Every error names the file and line. Empty and over-long pairs are skipped and counted with
``on_error="skip"``; bytes that are not UTF-8 text always raise, since they mean a wrong file.
"""

from __future__ import annotations

import gzip
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..data import paths
from ..errors import DataError, ManifestError

MAX_TOKENS = 400
MAX_CHARS = 10_000
MULTI30K_FOLDER = "multi30k"
# File extensions that look like language codes but name documents kept beside the corpus (README.txt).
NOT_LANGUAGES = frozenset({"txt", "md", "rst", "pdf", "csv", "tsv", "log", "sh", "py"})


@dataclass
class ParallelCorpus:
    """Aligned sentence pairs. `split[i]` names the split ("train", "val", ...) of pair i.

    `skipped` counts the pairs left out with on_error="skip", by reason ("empty", "too long").
    """

    sources: list[str]
    targets: list[str]
    split: list[str]
    source_language: str = "src"
    target_language: str = "tgt"
    skipped: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def split_names(self) -> list[str]:
        """The splits present, in order of first appearance."""
        return list(dict.fromkeys(self.split))

    def subset(self, split: str) -> ParallelCorpus:
        """The pairs of one split."""
        if split not in self.split_names:
            raise DataError(None, f"no split {split!r} in this corpus; it has {self.split_names}")
        keep = [i for i, name in enumerate(self.split) if name == split]
        return ParallelCorpus([self.sources[i] for i in keep], [self.targets[i] for i in keep],
                              [split] * len(keep), self.source_language, self.target_language,
                              Counter(self.skipped))


def _open_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError) as error:  # gzip raises BadGzipFile (an OSError) or EOFError
        raise DataError(path, f"cannot be read: {error}") from error


def read_lines(path: str | Path) -> list[str]:
    """The text lines of a plain or gzipped UTF-8 file; an error names the first bad line."""
    path = Path(path)
    data = _open_bytes(path)
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":  # the final newline ends the last line, starts none
        raw_lines.pop()
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        if b"\x00" in raw:
            raise DataError(f"{path}, line {number}", "holds binary data (a NUL byte); expected UTF-8 text")
        try:
            lines.append(raw.decode("utf-8").removesuffix("\r").removeprefix("\ufeff"))
        except UnicodeDecodeError as error:
            raise DataError(f"{path}, line {number}",
                            f"is not UTF-8 text (byte {raw[error.start]:#04x} at column {error.start + 1})") from error
    return lines


def sentence_problem(sentence: str, max_tokens: int = MAX_TOKENS, max_chars: int = MAX_CHARS) -> str | None:
    """Why a sentence cannot be used ("empty", "too long"), or None."""
    if not sentence.strip():
        return "empty"
    if len(sentence) > max_chars or len(sentence.split()) > max_tokens:
        return "too long"
    return None


class _PairCollector:
    """Accumulates pairs, skipping or rejecting the unusable ones with the place they came from."""

    def __init__(self, on_error: str, max_tokens: int, max_chars: int):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        self.on_error, self.max_tokens, self.max_chars = on_error, max_tokens, max_chars
        self.sources, self.targets, self.split, self.skipped = [], [], [], Counter()

    def add(self, source: str, target: str, split: str, source_place: str, target_place: str):
        for sentence, place in ((source, source_place), (target, target_place)):
            problem = sentence_problem(sentence, self.max_tokens, self.max_chars)
            if problem is None:
                continue
            if self.on_error == "skip":
                self.skipped[problem] += 1
                return
            detail = ("is empty" if problem == "empty" else
                      f"is too long ({len(sentence.split())} tokens, {len(sentence)} characters; "
                      f"the limit is {self.max_tokens} tokens and {self.max_chars} characters)")
            raise DataError(place, f"{detail} (read with on_error='skip' to leave such pairs out)")
        self.sources.append(source.strip())
        self.targets.append(target.strip())
        self.split.append(split)

    def corpus(self, source_language: str, target_language: str) -> ParallelCorpus:
        return ParallelCorpus(self.sources, self.targets, self.split, source_language,
                              target_language, self.skipped)


def _folder_files(folder: Path) -> dict[tuple[str, str], Path]:
    """{(split, language): file} for every ``<split>.<language>[.gz]`` file in `folder`."""
    files = {}
    for path in sorted(folder.iterdir()):
        name = path.name.removesuffix(".gz")
        stem, dot, language = name.rpartition(".")
        if (path.is_file() and dot and stem and language.isalpha() and len(language) <= 3
                and language.lower() not in NOT_LANGUAGES):
            if (stem, language) in files:
                raise DataError(folder, f"has both {files[(stem, language)].name} and {path.name}; keep one")
            files[(stem, language)] = path
    return files


def read_parallel_folder(folder: str | Path, source: str, target: str, splits: list[str] | None = None,
                         on_error: str = "raise", max_tokens: int = MAX_TOKENS,
                         max_chars: int = MAX_CHARS) -> ParallelCorpus:
    """The pairs of `splits` (default: every split with both languages) from `<split>.<lang>` files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "is not a folder of parallel files")
    files = _folder_files(folder)
    languages = sorted({language for _, language in files})
    for language in (source, target):
        if language not in languages:
            raise DataError(folder, f"has no {language!r} files (named <split>.{language} or "
                                    f"<split>.{language}.gz); its languages are {languages or 'none'}")
    if source == target:
        raise DataError(folder, f"source and target are both {source!r}")
    available = [stem for stem in dict.fromkeys(stem for stem, _ in files)
                 if (stem, source) in files and (stem, target) in files]
    for split in splits or []:
        for language in (source, target):
            if (split, language) not in files:
                raise DataError(folder, f"has no file {split}.{language}[.gz]; splits with both "
                                        f"{source!r} and {target!r} are {available}")
    collector = _PairCollector(on_error, max_tokens, max_chars)
    for split in splits or available:
        source_file, target_file = files[(split, source)], files[(split, target)]
        source_lines, target_lines = read_lines(source_file), read_lines(target_file)
        if len(source_lines) != len(target_lines):
            raise DataError(folder, f"{source_file.name} has {len(source_lines)} lines but "
                                    f"{target_file.name} has {len(target_lines)}; parallel files must align line by line")
        for number, (source_line, target_line) in enumerate(zip(source_lines, target_lines), start=1):
            collector.add(source_line, target_line, split,
                          f"{source_file}, line {number}", f"{target_file}, line {number}")
    return collector.corpus(source, target)


def read_parallel_manifest(path: str | Path, source_language: str = "src", target_language: str = "tgt",
                           on_error: str = "raise", max_tokens: int = MAX_TOKENS,
                           max_chars: int = MAX_CHARS) -> ParallelCorpus:
    """Pairs from a TSV file with a header holding ``source`` and ``target`` (and ``split``) columns.

    Fields are split on tabs only; quotes are kept as text. Rows without a split are "train".
    """
    path = Path(path)
    lines = read_lines(path)
    if not lines:
        raise ManifestError(path, "is empty; expected a header with 'source' and 'target' columns")
    header = lines[0].split("\t")
    missing = [column for column in ("source", "target") if column not in header]
    if missing:
        raise ManifestError(f"{path}, line 1", f"header {header} lacks the column(s) {missing}")
    source_column, target_column = header.index("source"), header.index("target")
    split_column = header.index("split") if "split" in header else None
    collector = _PairCollector(on_error, max_tokens, max_chars)
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() and on_error == "skip":
            collector.skipped["empty"] += 1
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise ManifestError(f"{path}, line {number}",
                                f"has {len(fields)} tab-separated fields; the header has {len(header)}")
        split = fields[split_column].strip() if split_column is not None else "train"
        place = f"{path}, line {number}"
        collector.add(fields[source_column], fields[target_column], split or "train", place, place)
    return collector.corpus(source_language, target_language)


def find_multi30k() -> Path:
    """The built-in Multi30k folder, looked up under $E2ELAB_DATA_DIR, then the e2elab cache."""
    for root in paths.search_dirs():
        if (root / MULTI30K_FOLDER).is_dir():
            return root / MULTI30K_FOLDER
    raise DataError(MULTI30K_FOLDER, "built-in data set not found; put its files (train.de.gz, "
                                     f"train.en.gz, ...) in $E2ELAB_DATA_DIR/{MULTI30K_FOLDER}")


def read_multi30k(source: str = "de", target: str = "en", splits: list[str] | None = None,
                  folder: str | Path | None = None, on_error: str = "raise") -> ParallelCorpus:
    """Multi30k task 1: splits ``train`` (29,000 pairs), ``val`` (1,014), ``test_2016_flickr`` (1,000)."""
    return read_parallel_folder(folder if folder is not None else find_multi30k(), source, target,
                                splits or ["train", "val", "test_2016_flickr"], on_error=on_error)
