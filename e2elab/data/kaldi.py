"""Kaldi data directories: ``wav.scp`` (utterance -> file), ``text`` (utterance -> words), ``utt2spk``.

Relative paths in ``wav.scp`` are tried against the directory and the two folders above it,
where Kaldi recipes keep their paths relative to. Piped commands, archives and ``segments`` are
not supported and are named as such.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ManifestError
from .dataset import Dataset
from .entries import Entries, is_file, resolve
from .textfile import read_manifest_text

# How many missing utterance ids an error message lists before giving only the count.
SHOWN_IDS = 5


def read_kaldi_table(path: Path, entries: Entries) -> dict[str, tuple[int, str]]:
    """``utt value`` lines as {utt: (line number, value)}; a repeated utterance is a bad line."""
    table: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(read_manifest_text(path).split("\n"), 1):
        if not line.strip():
            continue
        key, _, value = line.strip().partition(" ")
        if key in table:
            entries.bad(f"{path}:{number}", f"utterance {key!r} listed twice (first on line {table[key][0]})")
            continue
        table[key] = (number, value.strip())
    return table


def _speakers(folder: Path, utterances: list[str], entries: Entries) -> dict[str, str] | None:
    """{utt: speaker} from ``utt2spk`` (None when there is none).

    An utterance it leaves out would silently become a speaker of its own and could then sit on
    both sides of a speaker-held-out split; so it is an error, or (on_error="skip") left out.
    """
    path = folder / "utt2spk"
    if not path.is_file():
        return None
    table = read_kaldi_table(path, entries)
    speakers = {}
    for utt, (number, speaker) in table.items():
        if not speaker:
            entries.bad(f"{path}:{number}", f"utterance {utt!r} has no speaker")
        else:
            speakers[utt] = speaker
    missing = [utt for utt in utterances if utt not in speakers]
    if missing and entries.on_error == "raise":
        shown = ", ".join(missing[:SHOWN_IDS]) + (", ..." if len(missing) > SHOWN_IDS else "")
        raise ManifestError(path, f"{len(missing)} utterance(s) of wav.scp have no speaker: {shown}")
    for utt in missing:
        entries.bad(path, f"utterance {utt!r} has no speaker", utt)
    return speakers


def load_kaldi_dir(folder: str | Path, on_error: str = "raise") -> Dataset:
    """A Kaldi data directory: ``wav.scp``, ``text`` and (optionally) ``utt2spk``."""
    folder = Path(folder)
    for required in ("wav.scp", "text"):
        if not (folder / required).is_file():
            raise ManifestError(folder, f"a Kaldi data directory needs {required}")
    if (folder / "segments").exists():
        raise ManifestError(folder / "segments", "Kaldi segments (several utterances cut from one recording) are not supported")
    entries = Entries(on_error)
    wavs = read_kaldi_table(folder / "wav.scp", entries)
    texts = read_kaldi_table(folder / "text", entries)
    for utt in sorted(set(texts) - set(wavs)):
        entries.bad(f"{folder / 'text'}:{texts[utt][0]}", f"utterance {utt!r} has no audio in wav.scp")
    speakers = _speakers(folder, sorted(set(wavs) & set(texts)), entries)
    bases = [folder, folder.parent, folder.parent.parent]
    for utt in sorted(wavs):
        number, value = wavs[utt]
        where = f"{folder / 'wav.scp'}:{number}"
        if value.endswith("|") or value.startswith(("ark:", "scp:")) or not value:
            entries.bad(where, f"{utt}: only plain file paths are supported, not {value!r} (piped commands and archives)")
        elif utt not in texts:
            entries.bad(where, f"utterance {utt!r} has no transcript in text")
        elif speakers is None or utt in speakers:
            path = next((resolve(value, b) for b in bases if is_file(resolve(value, b))), resolve(value, folder))
            entries.add(where, path, texts[utt][1], "speech", None if speakers is None else speakers[utt])
    return entries.dataset("speech", folder, folder.name)
