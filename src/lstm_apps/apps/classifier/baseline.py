"""Bag-of-words logistic regression: the classic reference point for text classifiers. It shows
what word counts alone achieve, so that the LSTM's margin over it is what word order and
context bring.

    python -m lstm_apps.apps.classifier.baseline                      # the embedded corpus
    python -m lstm_apps.apps.classifier.baseline --train a.csv --test b.csv [--text-column …]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch

from lstm_apps.apps.classifier.labelled_text import LabelledText, LabelledTextFiles
from lstm_apps.apps.classifier.model import per_label_scores, per_label_table
from lstm_apps.extras import require_extra


def bag_of_words_baseline(
    train: Sequence[LabelledText], test: Sequence[LabelledText], seed: int = 0
) -> tuple[float, float, str]:
    """Accuracy, macro-F1 (both in %) and the per-label table of TF-IDF unigrams+bigrams with a
    class-balanced logistic regression (single-label data)."""
    require_extra("baselines", "the bag-of-words baseline")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix

    labels = sorted({e.labels[0] for e in train})
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform([e.text for e in train])
    classifier = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced", random_state=seed)
    classifier.fit(features, [e.labels[0] for e in train])
    predicted = classifier.predict(vectorizer.transform([e.text for e in test]))
    matrix = torch.tensor(confusion_matrix([e.labels[0] for e in test], predicted, labels=labels))
    accuracy = float(matrix.diagonal().sum() / matrix.sum())
    macro_f1 = float(per_label_scores(matrix, multi_label=False)["f1"].mean())
    return 100 * accuracy, 100 * macro_f1, per_label_table(matrix, labels, multi_label=False)


def main(argv: list[str] | None = None) -> None:
    from lstm_apps.apps.classifier.stdlib_docstrings import StdlibDocstrings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        default="data/classifier/stdlib_docstrings",
        help="where the embedded corpus lives (written if missing)",
    )
    parser.add_argument("--train", help="your train file (CSV/TSV/JSONL) instead of the embedded corpus")
    parser.add_argument("--test", help="your test file")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    args = parser.parse_args(argv)
    if args.train:
        splits = LabelledTextFiles(
            args.train, args.test or args.train, args.test, args.text_column, args.label_column
        ).load()
    else:
        splits = StdlibDocstrings(args.data_dir).load()
    accuracy, macro_f1, table = bag_of_words_baseline(splits["train"], splits["test"])
    print(
        f"bag-of-words logistic regression (test): accuracy {accuracy:.2f}, macro-F1 {macro_f1:.2f}\n{table}"
    )


if __name__ == "__main__":
    main()
