"""``lstm-apps predict`` for the classifier: one text, or a file of texts labelled in batches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from lstm_apps.apps.classifier.encoding import LabelledBatches
from lstm_apps.apps.classifier.labelled_text import LabelledText, read_labelled_texts
from lstm_apps.apps.classifier.model import ClassifierModel
from lstm_apps.bounds import Count, Positive
from lstm_apps.data.files import read_text_file
from lstm_apps.pipeline.predictor import Prediction, Predictor, exactly_one, existing_file
from lstm_apps.text.tokenizer import token_pieces

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".ndjson")


@dataclass
class ClassifierOptions:
    """The options of ``configs/predict/classifier.yaml``."""

    text: str | None = None
    input_file: str | None = None
    text_column: str = "text"
    top_labels: Count = 0
    output_file: str | None = None
    batch_size: Positive = 64


class ClassifierPredictor(Predictor[ClassifierModel, ClassifierOptions]):
    """``text``: ``label<TAB>probability`` per label, best first; ``input_file``:
    ``labels<TAB>probabilities<TAB>text`` per text (multi-label: comma-separated lists)."""

    options_type = ClassifierOptions
    main_input = "text"
    inside_view = True

    def predict(self) -> Prediction:
        options = self.options
        exactly_one(options, "text", "input_file", 'text="..." or input_file=path')
        if options.text is not None:
            ranked = self.ranked(self.classify([str(options.text)])[0], options.top_labels)
            return Prediction("\n".join(f"{label}\t{p:.4f}" for label, p in ranked))
        texts = read_texts(existing_file(options.input_file, "input_file"), options.text_column or "text")
        rows = [f"{self.row(p)}\t{t}" for p, t in zip(self.classify(texts), texts, strict=True)]
        return Prediction("\n".join(rows) + "\n", f"classified {len(texts)} texts")

    def inspection_steps(self, prediction: Prediction) -> list[str] | None:
        """The tokens of ``text`` as the encoder reads them."""
        vocab = self.model.vocab_tables
        if vocab is None or self.options.text is None:
            return None
        return token_pieces(vocab.tokenizer, vocab.token_ids([str(self.options.text)])[0])

    def classify(self, texts: list[str]) -> torch.Tensor:
        """Label probabilities ``[N, C]``, through ``trainer.predict`` in length-sorted batches."""
        model = self.model
        if model.vocab_tables is None:
            raise RuntimeError("the model has no vocabularies; bind_fitted_state() first")
        encoded = model.vocab_tables.encode([LabelledText(t) for t in texts], with_labels=False)
        batches = LabelledBatches(
            encoded, self.options.batch_size, model.pad_id, len(model.labels), model.multi_label, False
        )
        result = torch.zeros(len(texts), len(model.labels))
        for index, probabilities in self.run_batches(batches):
            result[index] = probabilities
        return result

    def ranked(self, probabilities: torch.Tensor, top_labels: int = 0) -> list[tuple[str, float]]:
        """``(label, probability)`` best first, the ``top_labels`` best (0: all)."""
        labels = self.model.labels
        order = probabilities.argsort(descending=True)[: top_labels or len(labels)].tolist()
        return [(labels[i], float(probabilities[i])) for i in order]

    def row(self, probabilities: torch.Tensor) -> str:
        """``label<TAB>probability`` (multi-label: comma-separated lists, possibly empty)."""
        predicted = self.model.predicted_labels(probabilities)
        return ",".join(label for label, _ in predicted) + "\t" + ",".join(f"{p:.4f}" for _, p in predicted)


def read_texts(path: Path, text_column: str) -> list[str]:
    """A CSV/TSV/JSONL file (its text column) or plain text, one text per line."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        return [e.text for e in read_labelled_texts(path, "input_file", text_column, None)]
    return [line for line in read_text_file(path, "input_file").splitlines() if line.strip()]


PREDICTOR = ClassifierPredictor
