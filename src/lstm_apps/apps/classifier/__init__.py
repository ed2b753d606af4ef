"""Text classification: a BiLSTM, last/mean/max/attention pooling, one label or several."""

from __future__ import annotations

from lstm_apps.registry import App, Bench, FormStep, Playground, Recipe, ServeBench, experiment

# The fine-tuning comparison (docs/results.md#fine-tuning-and-transfer) at 10 % of SST-2's labels:
# a pair of English word LMs, then the classifier from them, against the classifier from scratch.
SST2_PREPARES = [
    ["classifier", "sst2", "sst2"],
    ["seq2seq", "multi30k", "multi30k"],
    ["tagger", "conll2002_es", "conll2002"],
]
CORPORA = [["{python}", "{bench}/finetune/make_corpora.py", "{data_dir}", "{data_dir}/corpora"]]
LM_EN = [
    "app=textgen", "data/corpus=text_files", "data.corpus.train={data_dir}/corpora/lm_en/train.txt",
    "data.corpus.val={data_dir}/corpora/lm_en/val.txt", "data.tokenizer=word", "data.lowercase=true",
    "data.word_split=punctuation", "data.vocab_size=20000", "data.batch_size=64", "data.bptt=64",
    "model.embedding_dim=300", "model.hidden_size=256", "model.num_layers=1", "model.output_dropout=0.3",
    "trainer.max_epochs=3", "test_after_fit=false",
]  # fmt: skip
SST2_10 = [
    "experiment=classifier_sst2", "data.batch_size=64", "data.corpus.train={data_dir}/corpora/sst2_10pct/train.tsv",
    "trainer.max_epochs=10", "callbacks.early_stopping=null",
]  # fmt: skip

APP = App(
    name="classifier",
    package=__name__,
    summary="BiLSTM, last/mean/max/attention pooling, softmax or multi-label; accuracy, macro-F1",
    bench=Bench(
        units="texts",
        steps=60,
        scaling_steps=30,
        serve=ServeBench("bench:serve_setup", (8, 31)),  # SST-2 dev: 19.5 words
    ),
    recipes=(
        experiment("classifier_sst2", "test/acc", ("classifier", "sst2", "sst2")),
        Recipe("finetune_lm_en_fwd", LM_EN, "val/loss", SST2_PREPARES, CORPORA, share=0.5),
        Recipe(
            "finetune_lm_en_bwd",
            [*LM_EN, "data.reverse=true", "trainer.max_epochs=2"],
            "val/loss",
            SST2_PREPARES,
            CORPORA,
            share=0.5,
        ),
        Recipe("finetune_sst2_10pct_scratch", SST2_10, "test/acc", SST2_PREPARES, CORPORA, share=0.5),
        Recipe(
            "finetune_sst2_10pct_lm",
            [*SST2_10, "init_from={best:finetune_lm_en_fwd}", "init_from_backward={best:finetune_lm_en_bwd}"],
            "test/acc",
            SST2_PREPARES,
            CORPORA,
            after=["finetune_lm_en_fwd", "finetune_lm_en_bwd"],
            share=0.5,
        ),
    ),
    example=Playground(
        (FormStep("fill", "#text", "a gripping , beautifully acted film that never loses its nerve"),),
        "#result .bar",
    ),
)
