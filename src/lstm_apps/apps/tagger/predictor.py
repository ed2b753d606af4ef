"""``lstm-apps predict`` for the tagger: one text, or a CoNLL / plain text file tagged in batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lstm_apps.apps.tagger.conll import TaggedSentence, format_conll
from lstm_apps.apps.tagger.encoding import TaggedBatches
from lstm_apps.apps.tagger.model import TaggerModel
from lstm_apps.apps.tagger.predict_io import format_tagged_text, read_prediction_input
from lstm_apps.apps.tagger.word_split import split_words
from lstm_apps.bounds import Positive
from lstm_apps.pipeline.predictor import Prediction, Predictor, exactly_one, existing_file


@dataclass
class TaggerOptions:
    """The options of ``configs/predict/tagger.yaml``."""

    text: str | None = None
    input_file: str | None = None
    input_format: Literal["auto", "conll", "text"] = "auto"
    output_file: str | None = None
    batch_size: Positive = 64


class TaggerPredictor(Predictor[TaggerModel, TaggerOptions]):
    """``text``: ``token/TAG …`` and the entity spans; ``input_file``: the file as CoNLL with the
    predicted tags as the last column."""

    options_type = TaggerOptions
    main_input = "text"
    inside_view = True

    def predict(self) -> Prediction:
        options = self.options
        exactly_one(options, "text", "input_file", 'text="..." or input_file=path')
        if options.text is not None:
            return Prediction(format_tagged_text(str(options.text), self.tag, self.model.scheme))
        file = existing_file(options.input_file, "input_file")
        sentences = read_prediction_input(file, options.input_format)
        predicted = self.tag([s.tokens for s in sentences])
        output = format_conll(
            [[*row, tag] for row, tag in zip(s.rows, tags, strict=True)]
            for s, tags in zip(sentences, predicted, strict=True)
        )
        return Prediction(output, f"tagged {len(sentences)} sentences")

    def inspection_steps(self, prediction: Prediction) -> list[str] | None:
        """The words of ``text`` as the tagger reads them, each with the spaces after it."""
        if self.options.text is None:
            return None
        text = str(self.options.text)
        words = split_words(text)
        ends = [start for _, start, _ in words[1:]] + [len(text)]
        return [text[start:end] for (_, start, _), end in zip(words, ends, strict=True)]

    def tag(self, sentences: list[list[str]]) -> list[list[str]]:
        """Tags of tokenized sentences, through ``trainer.predict`` in length-sorted batches."""
        vocab_tables = self.model.vocab_tables
        if vocab_tables is None:
            raise RuntimeError("the model has no vocabularies; bind_fitted_state() first")
        encoded = vocab_tables.encode([TaggedSentence(tokens) for tokens in sentences])
        batches = TaggedBatches(encoded, self.options.batch_size, self.model.pad_id, shuffle=False)
        found = self.run_batches(batches)
        tags = dict(item for batch in found for item in batch)
        return [tags[i] for i in range(len(sentences))]


PREDICTOR = TaggerPredictor
