"""Dictionary-lookup baseline (the CoNLL shared tasks' reference point): tag every occurrence of a
span seen in training with its most frequent type there, longest match first. It shows what a
word list alone achieves, so that a model's margin over it is what it learned from context.

``python -m lstm_apps.apps.tagger.baseline`` scores it on the embedded corpus's test split.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence

from lstm_apps.apps.tagger.conll import TaggedSentence
from lstm_apps.apps.tagger.span_scores import TaggingScores, tagging_scores
from lstm_apps.apps.tagger.tag_schemes import spans


class DictionaryTagger:
    """Longest-match lookup of training spans (case-sensitive), majority type per span."""

    def __init__(self, train: Sequence[TaggedSentence]) -> None:
        counts: dict[tuple[str, ...], Counter[str]] = {}
        for sentence in train:
            for kind, start, end in spans(sentence.tags, "iob2"):
                counts.setdefault(tuple(sentence.tokens[start:end]), Counter())[kind] += 1
        self.types = {words: counter.most_common(1)[0][0] for words, counter in counts.items()}
        self.longest = max((len(w) for w in self.types), default=0)

    def tag(self, tokens: Sequence[str]) -> list[str]:
        """IOB2 tags for one sentence."""
        tags = ["O"] * len(tokens)
        i = 0
        while i < len(tokens):
            for width in range(min(self.longest, len(tokens) - i), 0, -1):
                kind = self.types.get(tuple(tokens[i : i + width]))
                if kind is not None:
                    tags[i : i + width] = [f"B-{kind}"] + [f"I-{kind}"] * (width - 1)
                    i += width
                    break
            else:
                i += 1
        return tags


def dictionary_baseline(train: Sequence[TaggedSentence], test: Sequence[TaggedSentence]) -> TaggingScores:
    """Span scores of the dictionary tagger built on ``train`` (IOB2 tags) on ``test``."""
    tagger = DictionaryTagger(train)
    return tagging_scores([tagger.tag(s.tokens) for s in test], [s.tags for s in test], "iob2")


def main(argv: list[str] | None = None) -> None:
    from lstm_apps.apps.tagger.ner_corpus import GeneratedNerCorpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/tagger/ner", help="where the generated corpus lives")
    parser.add_argument("--split", default="test", choices=["val", "test"])
    args = parser.parse_args(argv)
    splits = GeneratedNerCorpus(args.data_dir).load()
    scores = dictionary_baseline(splits["train"], splits[args.split])
    print(f"dictionary baseline on the embedded corpus ({args.split}):\n{scores.table()}")


if __name__ == "__main__":
    main()
