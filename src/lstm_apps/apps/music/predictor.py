"""``lstm-apps predict`` for music: sample pieces (or continue a primer) and write them as MIDI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from lstm_apps.apps.music.model import MusicModel
from lstm_apps.apps.music.rendering import QUARTERS_PER_MINUTE
from lstm_apps.apps.music.score_files import midi_bytes, read_score, read_score_bytes
from lstm_apps.bounds import Positive, PositiveReal, Seed
from lstm_apps.data.files import write_bytes_atomically
from lstm_apps.errors import UserError
from lstm_apps.pipeline.predictor import Prediction, Predictor, existing_file


@dataclass
class MusicOptions:
    """The options of ``configs/predict/music.yaml``."""

    num_samples: Positive = 1
    length: Positive = 64
    temperature: PositiveReal = 1.0
    primer: str | None = None
    output_dir: str = "samples"
    seed: Seed | None = None


class MusicPredictor(Predictor[MusicModel, MusicOptions]):
    """``num_samples`` pieces of ``length`` steps (after the ``primer``'s, if one is given), drawn
    as one batch, each written to ``output_dir/sample_NNN.mid`` (numbers not yet taken there);
    prints one line per file."""

    options_type = MusicOptions
    main_input = "primer"
    inspection_options: ClassVar[dict[str, Any]] = {"length": 1, "num_samples": 1}

    def predict(self) -> Prediction:
        options = self.options
        primer = None
        if options.primer is not None:
            path = existing_file(options.primer, "primer")
            primer = self.checked_primer(
                read_score(path, self.model.steps_per_quarter, normalise=False), str(path)
            )
        rolls = self.sample(options.num_samples, options.length, options.temperature, primer, options.seed)
        self._first_roll = rolls[0]
        folder = Path(options.output_dir).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        taken = {p.name for p in folder.glob("sample_*.mid")}
        names = (f"sample_{n:03d}.mid" for n in range(10**6) if f"sample_{n:03d}.mid" not in taken)
        lines = []
        for roll, name in zip(rolls, names, strict=False):  # names: as many as needed
            write_bytes_atomically(folder / name, self.midi(roll))
            quarters = len(roll) / self.model.steps_per_quarter
            lines.append(f"{folder / name}\t{len(roll)} steps ({quarters:g} quarter notes)")
        return Prediction("\n".join(lines))

    def inspection_features(self, prediction: Prediction) -> dict[str, Any]:
        """Per step the network reads (a silent frame, then the piece: primer and samples):
        ``onsets`` (keys struck), ``notes`` (keys sounding), ``beat_position`` (steps since the
        quarter began) and ``on_the_beat``, ``bar_position`` (steps since the bar began, bars of
        four quarters from the first step, as most chorales have) and ``on_the_downbeat``; NaN at
        the silent frame, which ``find`` leaves out."""
        roll = getattr(self, "_first_roll", None)
        if roll is None:
            return {}
        frames = np.concatenate([np.zeros((1, roll.shape[1]), dtype=bool), roll.astype(bool)])
        before = np.concatenate([np.zeros((1, roll.shape[1]), dtype=bool), frames[:-1]])
        step = np.arange(len(frames)) - 1  # the silent frame comes before the piece's first step
        quarter = self.model.steps_per_quarter
        in_quarter, in_bar = step % quarter, step % (4 * quarter)
        features = {
            "onsets": (frames & ~before).sum(1).astype(float),
            "notes": frames.sum(1).astype(float),
            "beat_position": in_quarter.astype(float),
            "on_the_beat": (in_quarter == 0).astype(float),
            "bar_position": in_bar.astype(float),
            "on_the_downbeat": (in_bar == 0).astype(float),
        }
        for values in features.values():
            values[0] = np.nan  # the silent frame is no step of the piece: left out of r
        return features

    def checked_primer(self, roll: np.ndarray, where: str) -> np.ndarray:
        """``roll`` unless it is longer than the longest piece the model was trained on (how far
        its state was ever carried): one line naming ``where`` then."""
        longest = self.model.longest_piece
        if longest and len(roll) > longest:
            raise UserError(
                f"primer: {where} is {len(roll)} steps on the model's grid, longer than the model's "
                f"context (the longest training piece, {longest} steps); give a shorter primer"
            )
        return roll

    def primer_from_bytes(self, data: bytes, name: str) -> np.ndarray:
        return self.checked_primer(read_score_bytes(data, name, self.model.steps_per_quarter), name)

    def sample(
        self, count: int, length: int, temperature: float, primer: np.ndarray | None, seed: int | None
    ) -> list[np.ndarray]:
        """``count`` rolls ``[P + length, 88]`` (bool), the primer first."""
        model = self.model.to(self.device)
        generator = None
        if seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(seed)
        given = torch.from_numpy(primer) if primer is not None else None
        rolls = model.sample(count, length, temperature, given, generator)
        return [roll.cpu().numpy().astype(bool) for roll in rolls]

    def midi(self, roll: np.ndarray) -> bytes:
        return midi_bytes(roll, self.model.steps_per_quarter, QUARTERS_PER_MINUTE)


PREDICTOR = MusicPredictor
