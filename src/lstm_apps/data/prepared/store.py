"""A prepared token store: token ids in flat binary files, memory-mapped by every process.

Layout of one store directory (``<data_dir>/prepared/<app>/<key>/``)::

    manifest.json          format version, dtype, counts, byte sizes, tokenizer JSON, key
    <split>.ids.bin        every token id of the split, back to back (uint16 or uint32)
    <split>.offsets.bin    optional int64 starts of each sequence, plus the end (n + 1 values)

A "split" is any named column: the text generator stores ``train``/``val``/``test``; the sentence
apps store several columns per split (``val.source``, ``val.target_text`` …), each with its own
dtype (token ids, UTF-8 bytes of the original text, int64 positions) recorded in the manifest.

A corpus is prepared once and opened with ``np.memmap``: pages are read from the file on demand
and shared by every process on the node, so no rank holds a Python object per token. Each file is
written under a name unique to the writing process and renamed into place, the manifest last, so
ranks or nodes preparing at the same time never see half a file; a store whose files do not match
its manifest is treated as absent (and rebuilt by whoever can).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lstm_apps.data.prepared.sequence_arrays import SequenceArrays
from lstm_apps.errors import UserError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def ids_dtype(vocab_size: int) -> np.dtype[Any]:
    """The narrowest unsigned type that holds every id: half the bytes of ``uint32`` when it fits."""
    return np.dtype(np.uint16) if vocab_size <= 65_535 else np.dtype(np.uint32)


def store_key(identity: Mapping[str, Any]) -> str:
    """A short stable hash of ``identity`` (input files and tokenizer settings, as JSON)."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def file_identity(path: str | Path) -> dict[str, Any]:
    """A file's identity without reading it: resolved path, size and modification time (ns).

    Hashing the content would cost seconds per GB on every run; any edit changes size or mtime.
    """
    file = Path(path).expanduser().resolve()
    stat = file.stat()
    return {"path": str(file), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def files_identity(kind: str, files: Mapping[str, str | Path], **settings: Any) -> dict[str, Any]:
    """A corpus read from ``files`` (name -> path) with ``settings``: what a store's key hashes.
    A missing file has no identity yet; reading it reports it with its config key."""
    found = {name: file_identity(path) if Path(path).exists() else str(path) for name, path in files.items()}
    return {"corpus": kind, "files": found, "settings": settings}


def default_prepared_dir(app: str) -> Path:
    """``data/prepared/<app>`` under ``$LSTM_APPS_ROOT`` or the working directory (what
    ``paths.data_dir`` is when no config says otherwise)."""
    return Path(os.environ.get("LSTM_APPS_ROOT") or ".") / "data" / "prepared" / app


def link_alias(alias: Path, directory: Path) -> None:
    """Make ``alias`` another name of the store ``directory`` (a relative symlink beside it,
    replaced atomically): a store prepared with settings is then found again by the key of
    the tokenizer it fitted, e.g. when the run is resumed or evaluated from its checkpoint."""
    if alias == directory or (alias.exists() and problem(alias) is None):
        return
    temp = unique_temp(alias)
    os.symlink(directory.name if alias.parent == directory.parent else directory.resolve(), temp)
    try:
        if alias.is_dir() and not alias.is_symlink():
            return  # a real (broken) store of that key: leave it to be rebuilt
        temp.replace(alias)
    finally:
        if temp.is_symlink():
            temp.unlink()


def unique_temp(target: Path) -> Path:
    """A sibling name no other process (or node) writing ``target`` at the same time will use."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _ids_file(directory: Path, split: str) -> Path:
    return directory / f"{split}.ids.bin"


def _offsets_file(directory: Path, split: str) -> Path:
    return directory / f"{split}.offsets.bin"


def _write_split(
    directory: Path, split: str, sequences: Iterable[npt.ArrayLike], dtype: np.dtype[Any], offsets: bool
) -> dict[str, int]:
    """Append every sequence to the split's ids file (and its start to the offsets); rename both."""
    ids_target, offsets_target = _ids_file(directory, split), _offsets_file(directory, split)
    ids_temp, offsets_temp = unique_temp(ids_target), unique_temp(offsets_target)
    starts = [0]
    tokens = 0
    try:
        with ids_temp.open("wb") as out:
            for sequence in sequences:
                array = np.asarray(sequence)
                if array.size and (array.min() < 0 or array.max() > np.iinfo(dtype).max):
                    raise ValueError(f"{split}: token ids outside {dtype.name}")
                out.write(array.astype(dtype, copy=False).tobytes())
                tokens += int(array.size)
                starts.append(tokens)
        info = {"tokens": tokens, "ids_bytes": tokens * dtype.itemsize}
        if offsets:
            np.asarray(starts, dtype=np.int64).tofile(offsets_temp)
            info.update(sequences=len(starts) - 1, offsets_bytes=len(starts) * 8)
            offsets_temp.replace(offsets_target)
        ids_temp.replace(ids_target)
    finally:
        ids_temp.unlink(missing_ok=True)
        offsets_temp.unlink(missing_ok=True)
    return info


def write_store(
    directory: str | Path,
    splits: Mapping[str, Iterable[npt.ArrayLike]],
    vocab_size: int,
    tokenizer_json: str,
    key: str,
    offsets: bool = False,
) -> Path:
    """Write a store: per split, the id sequences ``splits[split]`` yields (arrays or lists of
    ints); with ``offsets`` also where each sequence starts. The manifest is written last."""
    folder = _begin(directory)
    dtype = ids_dtype(vocab_size)
    infos = {
        split: _write_split(folder, split, sequences, dtype, offsets) for split, sequences in splits.items()
    }
    _finish(
        folder,
        {
            "dtype": dtype.name,
            "vocab_size": vocab_size,
            "key": key,
            "splits": infos,
            "tokenizer": tokenizer_json,
        },
    )
    return folder


@dataclass(frozen=True)
class Positions:
    """A column of running positions (``n + 1`` int64 values from 0, e.g. where each sentence's
    tokens start in another column): chunks of it are joined by shifting each chunk by the end
    of the previous one, so every chunk can be made on its own."""

    values: np.ndarray


Column = SequenceArrays | np.ndarray | Positions


class _ColumnFile:
    """One column being written: its ids (and offsets) appended chunk by chunk to temp files."""

    def __init__(self, directory: Path, name: str, column: Column) -> None:
        self.name = name
        self.kind = type(column)
        first = column.ids if isinstance(column, SequenceArrays) else _plain(column)
        self.dtype = first.dtype
        self.targets = [_ids_file(directory, name)]
        if isinstance(column, SequenceArrays):
            self.targets.append(_offsets_file(directory, name))
        self.temps = [unique_temp(t) for t in self.targets]
        self.handles = [temp.open("wb") for temp in self.temps]
        self.tokens = 0
        self.sequences = 0
        self.last = 0  # a Positions column: the end the next chunk follows on from
        if isinstance(column, SequenceArrays):
            self.handles[1].write(np.zeros(1, dtype=np.int64).tobytes())

    def append(self, column: Column) -> None:
        if type(column) is not self.kind:
            raise TypeError(f"{self.name}: a chunk of {type(column).__name__} after {self.kind.__name__}")
        if isinstance(column, SequenceArrays):
            self._write_ids(column.ids)
            self.handles[1].write((column.offsets[1:].astype(np.int64) + self.tokens).tobytes())
            self.tokens += len(column.ids)
            self.sequences += len(column)
        elif isinstance(column, Positions):
            values = column.values.astype(np.int64)
            shifted = values if self.tokens == 0 else values[1:] + self.last
            self._write_ids(shifted)
            self.tokens += len(shifted)
            self.last = int(shifted[-1]) if len(shifted) else self.last
        else:
            self._write_ids(np.asarray(column))
            self.tokens += int(np.asarray(column).size)

    def _write_ids(self, ids: np.ndarray) -> None:
        if ids.dtype != self.dtype:
            if ids.size and np.issubdtype(self.dtype, np.integer):
                bounds = np.iinfo(self.dtype)
                if int(ids.min()) < bounds.min or int(ids.max()) > bounds.max:
                    raise ValueError(f"{self.name}: values outside {self.dtype.name}")
            ids = ids.astype(self.dtype)
        self.handles[0].write(np.ascontiguousarray(ids).tobytes())

    def close(self) -> dict[str, Any]:
        for handle in self.handles:
            handle.close()
        for temp, target in zip(self.temps, self.targets, strict=True):
            temp.replace(target)
        info: dict[str, Any] = {
            "dtype": self.dtype.name,
            "tokens": self.tokens,
            "ids_bytes": self.tokens * self.dtype.itemsize,
        }
        if self.kind is SequenceArrays:
            info.update(sequences=self.sequences, offsets_bytes=(self.sequences + 1) * 8)
        return info

    def discard(self) -> None:
        for handle in self.handles:
            handle.close()
        for temp in self.temps:
            temp.unlink(missing_ok=True)


def _plain(column: np.ndarray | Positions) -> np.ndarray:
    return column.values.astype(np.int64) if isinstance(column, Positions) else np.asarray(column)


class ColumnWriter:
    """Writes a store of named columns chunk by chunk, so a corpus is never held whole: each
    ``append`` adds a chunk to every column it names (a ``SequenceArrays`` as ids plus offsets,
    a plain array as ids alone, ``Positions`` shifted to follow on). ``finish`` renames the files
    into place and writes the manifest last; leaving the ``with`` block early removes the temp
    files, so a failed preparation leaves no store behind."""

    def __init__(self, directory: str | Path) -> None:
        self.folder = _begin(directory)
        self.columns: dict[str, _ColumnFile] = {}

    def __enter__(self) -> ColumnWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        for column in self.columns.values():
            column.discard()

    def append(self, columns: Mapping[str, Column]) -> None:
        for name, column in columns.items():
            if name not in self.columns:
                self.columns[name] = _ColumnFile(self.folder, name, column)
            self.columns[name].append(column)

    def finish(self, key: str, fitted: Mapping[str, str], info: Mapping[str, Any] | None = None) -> Path:
        infos = {name: column.close() for name, column in self.columns.items()}
        self.columns = {}
        manifest = {
            "dtype": "uint8",
            "key": key,
            "splits": infos,
            "fitted": dict(fitted),
            "info": dict(info or {}),
        }
        _finish(self.folder, manifest)
        return self.folder


def _begin(directory: str | Path) -> Path:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # a store being rebuilt is absent until complete
    return folder


def _finish(folder: Path, manifest: dict[str, Any]) -> None:
    target = folder / MANIFEST
    temp = unique_temp(target)
    temp.write_text(json.dumps({"format_version": FORMAT_VERSION, **manifest}, indent=1), encoding="utf-8")
    temp.replace(target)


def problem(directory: str | Path) -> str | None:
    """Why the store in ``directory`` cannot be used (naming the file at fault), or None if intact."""
    folder = Path(directory)
    manifest_file = folder / MANIFEST
    if not manifest_file.is_file():
        return f"{manifest_file} is missing"
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        version, splits = manifest["format_version"], manifest["splits"]
        np.dtype(manifest["dtype"])
    except (ValueError, KeyError, TypeError):
        return f"{manifest_file} is not a readable manifest"
    if version != FORMAT_VERSION:
        return f"{manifest_file} has format version {version}, this version reads {FORMAT_VERSION}"
    for split, info in splits.items():
        expected = [(_ids_file(folder, split), info["ids_bytes"])]
        if "offsets_bytes" in info:
            expected.append((_offsets_file(folder, split), info["offsets_bytes"]))
        for file, size in expected:
            if not file.is_file():
                return f"{file} is missing"
            if file.stat().st_size != size:
                return f"{file} has {file.stat().st_size:,} bytes, its manifest says {size:,}"
    return None


@dataclass(frozen=True)
class PreparedSplit:
    """One split, memory-mapped: ``ids`` is every token; ``offsets`` (if stored) where each
    sequence starts, so ``sequence(i)`` is ``ids[offsets[i]:offsets[i + 1]]`` without a copy."""

    ids: np.ndarray
    offsets: np.ndarray | None

    def __len__(self) -> int:
        return len(self.offsets) - 1 if self.offsets is not None else 1

    def sequence(self, index: int) -> np.ndarray:
        if self.offsets is None:
            return self.ids
        return self.ids[self.offsets[index] : self.offsets[index + 1]]

    def arrays(self) -> SequenceArrays:
        """The split as ``SequenceArrays`` over the mapped files (no copy)."""
        if self.offsets is None:
            raise ValueError("this split was stored without offsets")
        return SequenceArrays(self.ids, self.offsets)


@dataclass(frozen=True)
class PreparedStore:
    directory: Path
    manifest: dict[str, Any]
    splits: dict[str, PreparedSplit]

    @property
    def tokenizer_json(self) -> str:
        return str(self.manifest["tokenizer"])

    @property
    def fitted(self) -> dict[str, str]:
        """What was fitted on the training data (name -> JSON), for stores of columns."""
        return dict(self.manifest.get("fitted", {}))

    @property
    def info(self) -> dict[str, Any]:
        return dict(self.manifest.get("info", {}))


def _map(file: Path, dtype: np.dtype[Any], count: int) -> np.ndarray:
    # np.memmap refuses empty files; an empty split is an empty array.
    if count == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(file, dtype=dtype, mode="r", shape=(count,))


def open_store(directory: str | Path) -> PreparedStore:
    """Memory-map the store in ``directory``; a broken one is one ``UserError`` naming the file."""
    folder = Path(directory)
    found = problem(folder)
    if found is not None:
        raise UserError(f"prepared data: {found}; delete {folder} and run again to prepare it anew")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    splits = {}
    for split, info in manifest["splits"].items():
        dtype = np.dtype(info.get("dtype", manifest["dtype"]))
        ids = _map(_ids_file(folder, split), dtype, info["tokens"])
        offsets = None
        if "offsets_bytes" in info:
            offsets = _map(_offsets_file(folder, split), np.dtype(np.int64), info["sequences"] + 1)
        splits[split] = PreparedSplit(ids, offsets)
    return PreparedStore(folder, manifest, splits)
