"""``lstm-apps predict`` for seq2seq: one sentence or a file of sentences, translated in batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from lstm_apps.apps.seq2seq.model import Seq2SeqModel, Translation
from lstm_apps.bounds import NonNegative, Positive
from lstm_apps.pipeline.predictor import Prediction, Predictor, exactly_one, existing_file
from lstm_apps.text.batching import pad_sequences
from lstm_apps.text.tokenizer import token_pieces


@dataclass
class Seq2SeqOptions:
    """The options of ``configs/predict/seq2seq.yaml``."""

    input: str | None = None
    input_file: str | None = None
    beam_size: Positive = 5
    n_best: Positive = 1
    length_penalty: NonNegative | None = None
    replace_unknown: bool | None = None
    batch_size: Positive = 64


class Seq2SeqPredictor(Predictor[Seq2SeqModel, Seq2SeqOptions]):
    """Prints the best translation per line, or ``line<TAB>score<TAB>hypothesis`` rows for
    ``n_best`` > 1."""

    options_type = Seq2SeqOptions
    main_input = "input"
    inside_view = True
    inspection_options: ClassVar[dict[str, Any]] = {"beam_size": 1}

    def predict(self) -> Prediction:
        options = self.options
        exactly_one(options, "input", "input_file", 'input="..." or input_file=path')
        if options.input_file is not None:
            file = existing_file(options.input_file, "input_file")
            sources = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
        else:
            sources = [str(options.input)]
        if options.replace_unknown is not None:
            self.model.replace_unknown = options.replace_unknown
        results = self.translate(sources)
        if options.n_best == 1:
            return Prediction("\n".join(results[i][0].text for i in range(len(sources))))
        return Prediction(
            "\n".join(f"{i}\t{h.score:.4f}\t{h.text}" for i in range(len(sources)) for h in results[i])
        )

    def inspection_steps(self, prediction: Prediction) -> list[str] | None:
        """The source sentence's tokens as the encoder reads them."""
        if self.options.input is None:
            return None
        tokenizer = self.model.source_tokenizer()
        return token_pieces(tokenizer, tokenizer.encode(str(self.options.input)))

    def translate(
        self,
        sources: list[str],
        beam_size: int | None = None,
        n_best: int | None = None,
        with_attention: bool = False,
    ) -> list[list[Translation]]:
        """The n-best translations (``text``, ``score`` …) per source string, in the order given;
        ``beam_size``/``n_best`` default to the options'."""
        options = self.options
        search = {
            "beam_size": beam_size or options.beam_size,
            "n_best": n_best or options.n_best,
            "alpha": options.length_penalty,
        }
        batches = self.batches(sources, search, with_attention)
        results = dict(item for found in self.run_batches(batches) for item in found)
        return [results[i] for i in range(len(sources))]

    def batches(
        self, sources: list[str], search: dict[str, Any], with_attention: bool = False
    ) -> list[dict[str, Any]]:
        """Source strings as ``predict_step`` batches of ``batch_size``, sorted by length: ``src``,
        ``src_lengths``, ``index`` (position in ``sources``), the texts and the ``search`` settings."""
        model = self.model
        encoded = model.source_tokenizer().encode_batch(sources)
        order = sorted(range(len(sources)), key=lambda i: len(encoded[i]))
        found = []
        for start in range(0, len(order), self.options.batch_size):
            chunk = order[start : start + self.options.batch_size]
            src, lengths = pad_sequences([encoded[i] or [model.eos_id] for i in chunk], model.pad_id)
            found.append(
                {
                    "src": src,
                    "src_lengths": lengths,
                    "index": torch.tensor(chunk),
                    "source_text": [sources[i] for i in chunk],
                    "search": search,
                    "with_attention": with_attention,
                }
            )
        return found


PREDICTOR = Seq2SeqPredictor
