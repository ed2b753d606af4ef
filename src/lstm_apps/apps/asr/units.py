"""The recogniser's output units: the CTC blank (index 0), then the characters of the training
transcripts or byte-level BPE pieces learned on them (the project's HF ``tokenizers`` BPE)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Literal

from lstm_apps.errors import UserError
from lstm_apps.text.tokenizer import HFWrappedTokenizer, tokenizer_from_json

UnitKind = Literal["chars", "bpe"]
UnknownChars = Literal["error", "drop"]


class OutputUnits:
    """``units[i]`` names output ``i`` (``""`` the blank). ``alphabet``: every character of the
    training transcripts; a transcript character outside it is an error naming the manifest line
    (``unknown="error"``) or left out (``"drop"``). With ``tokenizer`` (BPE), unit ``i`` is
    the tokenizer's id ``i - 1``."""

    def __init__(
        self,
        units: Sequence[str],
        alphabet: Iterable[str],
        lowercase: bool,
        unknown: UnknownChars = "error",
        tokenizer: HFWrappedTokenizer | None = None,
    ) -> None:
        self.units, self.alphabet = list(units), set(alphabet)
        self.lowercase, self.unknown, self.tokenizer = lowercase, unknown, tokenizer
        self.index = {unit: i for i, unit in enumerate(self.units) if i > 0}

    @classmethod
    def fit(
        cls, texts: Iterable[str], kind: UnitKind, vocab_size: int, lowercase: bool, unknown: UnknownChars
    ) -> OutputUnits:
        """Units from the training transcripts (held as a list: text only, small beside audio)."""
        plain = cls([""], (), lowercase, unknown)
        normalised = [plain.normalise(text) for text in texts]
        alphabet = sorted({ch for text in normalised for ch in text})
        if kind == "chars":
            return cls(["", *alphabet], alphabet, lowercase, unknown)
        tokenizer = HFWrappedTokenizer.train_bpe(normalised, vocab_size, min_frequency=2)
        pieces = tokenizer.hf.id_to_token
        units = ["", *(pieces(i) or "" for i in range(tokenizer.vocab_size))]
        return cls(units, alphabet, lowercase, unknown, tokenizer)

    def normalise(self, text: str) -> str:
        return " ".join((text.lower() if self.lowercase else text).split())

    def encode(self, text: str, where: str, unknown: UnknownChars | None = None) -> list[int]:
        """Unit ids of ``text`` (normalised); ``where`` (``manifest:line``) is named in errors."""
        text = self.normalise(text)
        missing = sorted({ch for ch in text if ch not in self.alphabet})
        if missing and (unknown or self.unknown) == "error":
            shown = ", ".join(repr(ch) for ch in missing)
            raise UserError(
                f"{where}: {len(missing)} character(s) the model has no unit for: {shown} "
                "(data.unknown_chars=drop leaves them out)"
            )
        if missing:
            text = "".join(ch for ch in text if ch in self.alphabet)
        if self.tokenizer is not None:
            return [i + 1 for i in self.tokenizer.encode(text)]
        return [self.index[ch] for ch in text]

    def decode(self, ids: Sequence[int]) -> str:
        ids = [i for i in ids if i > 0]
        if self.tokenizer is not None:
            return self.tokenizer.decode([i - 1 for i in ids])
        return "".join(self.units[i] for i in ids)

    # -- the fitted state -----------------------------------------------------------------------
    def to_state(self) -> dict[str, str]:
        state = {
            "units": json.dumps(self.units),
            "alphabet": json.dumps(sorted(self.alphabet)),
            "lowercase": json.dumps(self.lowercase),
        }
        if self.tokenizer is not None:
            state["tokenizer"] = self.tokenizer.to_json()
        return state

    @classmethod
    def from_state(
        cls, state: dict[str, str], lowercase: bool | None = None, unknown: UnknownChars = "error"
    ) -> OutputUnits:
        """The units of a fitted state; ``lowercase`` (default: as fitted) shapes new text."""
        if lowercase is None:
            lowercase = bool(json.loads(state["lowercase"]))
        tokenizer = tokenizer_from_json(state["tokenizer"]) if "tokenizer" in state else None
        if tokenizer is not None and not isinstance(tokenizer, HFWrappedTokenizer):
            raise UserError("the checkpoint's unit tokenizer is not a BPE tokenizer")
        return cls(json.loads(state["units"]), json.loads(state["alphabet"]), lowercase, unknown, tokenizer)
