"""Fetch LibriSpeech (Panayotov et al. 2015) and write JSON-lines manifests for
``data/corpus=manifest_files``:

    lstm-apps prepare asr librispeech_100
    lstm-apps train experiment=asr_librispeech_100

``librispeech_100``: ``train-clean-100`` (100 h, 251 speakers) for training, ``dev-clean`` for
validation and ``test-clean`` for test, as published by OpenSLR (resource 12). The archives are
unpacked under ``data/asr/librispeech/LibriSpeech/`` and the FLAC files are read in place; each
manifest line holds the file (relative to the manifest), its duration and the transcript of the
chapter's ``*.trans.txt``. ``--base-url`` fetches from a mirror or a ``file://`` folder with the
same archive names. Every manifest is read back with the app's reader.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from lstm_apps.apps.asr.manifest import read_manifest
from lstm_apps.data.download import fetch
from lstm_apps.data.files import write_text_atomically
from lstm_apps.errors import UserError
from lstm_apps.extras import require_extra

DATASETS = {"librispeech_100": "LibriSpeech train-clean-100 / dev-clean / test-clean (FLAC, ~6.3 GB)"}
BASE_URL = "https://www.openslr.org/resources/12"
SPLITS = {"train": "train-clean-100", "val": "dev-clean", "test": "test-clean"}


def _unpack(archive: Path, target: Path, part: str) -> Path:
    """``archive`` unpacked into ``target`` (once: a marker file records a complete unpacking)."""
    done = target / f".{part}.unpacked"
    if not done.exists():
        try:
            with tarfile.open(archive, "r:gz") as bundle:
                bundle.extractall(target, filter="data")
        except (tarfile.TarError, OSError, EOFError) as err:
            raise UserError(f"{archive}: not a readable .tar.gz archive ({err})") from None
        done.touch()
    folder = target / "LibriSpeech" / part
    if not folder.is_dir():
        raise UserError(f"{archive}: holds no LibriSpeech/{part}/ folder")
    return folder


def _manifest(folder: Path, manifest: Path) -> int:
    """One line per utterance of every ``*.trans.txt`` under ``folder``; the count written."""
    import soundfile

    rows = []
    for transcripts in sorted(folder.rglob("*.trans.txt")):
        for number, line in enumerate(transcripts.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            name, _, text = line.partition(" ")
            audio = transcripts.parent / f"{name}.flac"
            if not audio.is_file() or not text.strip():
                raise UserError(f"{transcripts}:{number}: no {audio.name} beside it, or no transcript")
            duration = soundfile.info(str(audio)).duration
            relative = audio.relative_to(manifest.parent)
            rows.append(
                json.dumps(
                    {"audio_filepath": str(relative), "duration": round(duration, 3), "text": text.strip()}
                )
            )
    if not rows:
        raise UserError(f"{folder}: no *.trans.txt transcripts found")
    write_text_atomically(manifest, "\n".join(rows) + "\n")
    return len(rows)


def prepare(name: str, out_dir: Path, base_url: str | None = None) -> dict[str, Path]:
    """Download and unpack each part, write ``{train,val,test}.jsonl``; return their paths."""
    if name not in DATASETS:
        raise UserError(f"unknown corpus '{name}' (available: {', '.join(DATASETS)})")
    require_extra("asr", "preparing LibriSpeech")
    base = (base_url or BASE_URL).rstrip("/")
    target = out_dir / "librispeech"
    written: dict[str, Path] = {}
    for split, part in SPLITS.items():
        archive = target / "raw" / f"{part}.tar.gz"
        if not archive.exists():
            fetch(f"{base}/{part}.tar.gz", archive, timeout=600.0)
        folder = _unpack(archive, target, part)
        manifest = target / f"{split}.jsonl"
        _manifest(folder, manifest)
        sum(1 for _ in read_manifest(manifest, f"prepare: {manifest}"))
        written[split] = manifest
    return written
