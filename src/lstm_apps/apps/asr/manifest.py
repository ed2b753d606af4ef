"""Speech manifests: which audio file says what. JSON lines in NeMo's convention
(``{"audio_filepath": "a.wav", "duration": 2.1, "text": "..."}``) or TSV (a header naming
``audio_filepath`` and ``text``, or rows of ``path<TAB>text``). Relative paths are resolved
against the manifest's folder. Every problem is one line naming the manifest and its line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstm_apps.data.prepared.store import files_identity
from lstm_apps.errors import UserError

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


@dataclass(frozen=True)
class Utterance:
    """One manifest entry: the audio file, its transcript and where it was listed (``file:line``)."""

    audio: Path
    text: str
    where: str


def _is_json_lines(path: Path, first: str) -> bool:
    return path.suffix.lower() in JSON_SUFFIXES or first.lstrip().startswith("{")


def read_manifest(path: str | Path, key: str) -> Iterator[Utterance]:
    """The entries of a JSON-lines or TSV manifest, streamed; ``key`` names the setting that gave
    the file (``data.corpus.train``)."""
    manifest = Path(path).expanduser()
    if not manifest.is_file():
        raise UserError(f"{key}: manifest not found: {manifest}")
    folder = manifest.parent
    with manifest.open(encoding="utf-8") as lines:
        header: list[str] | None = None
        json_lines: bool | None = None
        for number, raw in enumerate(lines, start=1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            where = f"{manifest}:{number}"
            if json_lines is None:
                json_lines = _is_json_lines(manifest, line)
                if not json_lines and "audio_filepath" in line.split("\t"):
                    header = line.split("\t")
                    continue
            audio, text = _json_entry(line, where) if json_lines else _tsv_entry(line, header, where)
            file = Path(audio).expanduser()
            yield Utterance(file if file.is_absolute() else folder / file, text, where)


def _json_entry(line: str, where: str) -> tuple[str, str]:
    try:
        entry: Any = json.loads(line)
    except json.JSONDecodeError as err:
        raise UserError(f"{where}: not valid JSON ({err.msg})") from None
    if not isinstance(entry, dict):
        raise UserError(f"{where}: expected an object with audio_filepath and text")
    for field in ("audio_filepath", "text"):
        if not isinstance(entry.get(field), str):
            raise UserError(f"{where}: '{field}' is missing or not a string")
    return entry["audio_filepath"], entry["text"]


def _tsv_entry(line: str, header: list[str] | None, where: str) -> tuple[str, str]:
    cells = line.split("\t")
    if header is None:
        if len(cells) != 2:
            raise UserError(f"{where}: expected path<TAB>text, got {len(cells)} cells")
        return cells[0], cells[1]
    if len(cells) != len(header):
        raise UserError(f"{where}: {len(cells)} cells, the header has {len(header)}")
    row = dict(zip(header, cells, strict=True))
    if "text" not in row:
        raise UserError(f"{where}: the header names no 'text' column")
    return row["audio_filepath"], row["text"]


class ManifestFiles:
    """Your own speech: a manifest per split (``test`` defaults to ``val``). The audio is read, down-mixed
    and resampled while preparing; the manifests' identity keys the prepared store."""

    def __init__(self, train: str, val: str, test: str | None = None) -> None:
        self.paths = {"train": train, "val": val, "test": test or val}

    def identity(self) -> dict[str, Any]:
        return files_identity("manifest", self.paths)

    def records(self, split: str) -> Iterator[Utterance]:
        return read_manifest(self.paths[split], f"data.corpus.{split}")
