"""The valid values of every config key, declared once: kind, range or choices, and a short note.

Keys are dotted paths in the composed config of a command. ``RUN`` holds what every app shares in
``lstm-apps train`` (optimiser, scheduler, trainer, callbacks, search …); ``APP`` what each app adds
under ``data.*`` and ``model.*``; ``SOURCES`` the keys of each data source (``data.corpus`` …); ``PREDICT`` the options of ``lstm-apps predict``, per app and keyed
by option name; ``EVAL`` and ``EXPORT`` the keys of those commands. A key absent from a config (a
corpus not chosen, a callback switched off) is simply not checked. To add a key: put its line
here next to its siblings; ``tests/test_config_ranges.py`` fails for a numeric key without one.
"""

from __future__ import annotations

from lstm_apps.config_ranges.kinds import AnyOf, Choice, Flag, Key, Kind, ListOf, Null, Range, Text

Table = dict[str, Key]


def key(*kinds: Kind, doc: str) -> Key:
    """One declaration; several kinds mean any of them is allowed."""
    return Key(kinds[0] if len(kinds) == 1 else AnyOf(kinds), doc)


def ints(low: float | None = None, high: float | None = None) -> Range:
    return Range(True, low, high)


def reals(
    low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False
) -> Range:
    return Range(False, low, high, low_open, high_open)


def one_of(*options: str) -> Choice:
    return Choice(tuple(options))


FLAG = Flag()
NULL = Null()
POSITIVE = ints(1)
COUNT = ints(0)
FRACTION = reals(0, 1, low_open=True, high_open=True)  # strictly between 0 and 1
DROPOUT = reals(0, 1, high_open=True)
SEED = ints(0, 2**32 - 1)  # what seed_everything and numpy accept
CELLS = one_of("lstm", "gru", "rnn")
ATTENTIONS = one_of("dot", "general", "concat", "additive")
BATCH_LIMIT = (NULL, ints(0), reals(0, 1))  # Lightning: a number of batches, or a fraction of them


# ---------------------------------------------------------------- shared by every app (train)
RUN: Table = {
    "seed": key(SEED, NULL, doc="seeds weights, data order and sampling; null: not seeded"),
    "monitor_mode": key(one_of("min", "max"), doc="whether a smaller or larger monitor is better"),
    "test_after_fit": key(FLAG, doc="test the best checkpoint when training ends"),
    "resume": key(NULL, one_of("auto"), doc="auto: continue the run with the same overrides"),
    "float32_matmul_precision": key(one_of("highest", "high", "medium"), doc="CUDA float32 matmul mode"),
    # optimizer=adam|adamw|sgd (a Hydra group: Hydra checks the name)
    "optimizer.lr": key(reals(0, low_open=True), doc="learning rate"),
    "optimizer.weight_decay": key(reals(0), doc="L2 penalty (decoupled for AdamW)"),
    "optimizer.momentum": key(reals(0, 1, high_open=True), doc="SGD momentum"),
    # scheduler=plateau|cosine|onecycle|none
    "scheduler.interval": key(
        one_of("step", "epoch", "validation"), doc="when the scheduler steps; validation: after each one"
    ),
    "scheduler.factory.mode": key(one_of("min", "max"), doc="plateau: direction of the monitor"),
    "scheduler.factory.factor": key(FRACTION, doc="plateau: lr multiplier on a plateau"),
    "scheduler.factory.patience": key(COUNT, doc="plateau: validations without improvement first"),
    "scheduler.factory.eta_min": key(reals(0), doc="cosine: the final learning rate"),
    "scheduler.factory.max_lr": key(reals(0, low_open=True), doc="onecycle: the peak learning rate"),
    "scheduler.factory.pct_start": key(FRACTION, doc="onecycle: share of steps spent warming up"),
    # trainer (Lightning Trainer arguments the project sets)
    "trainer.accelerator": key(one_of("auto", "cpu", "gpu", "cuda", "mps"), doc="the device type"),
    "trainer.devices": key(POSITIVE, one_of("auto", "-1"), ListOf(COUNT), doc="devices per node"),
    "trainer.num_nodes": key(POSITIVE, doc="machines"),
    "trainer.strategy.timeout.seconds": key(
        reals(0, low_open=True), doc="how long a collective waits for a dead or stuck rank"
    ),
    "trainer.precision": key(
        one_of("32-true", "32", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true", "64"),
        doc="numeric precision of training",
    ),
    "trainer.max_epochs": key(POSITIVE, one_of("-1"), NULL, doc="-1: no limit"),
    "trainer.min_epochs": key(COUNT, NULL, doc="train at least this many epochs"),
    "trainer.max_steps": key(POSITIVE, one_of("-1"), doc="-1: no limit"),
    "trainer.gradient_clip_val": key(reals(0), NULL, doc="clip gradients to this norm/value"),
    "trainer.gradient_clip_algorithm": key(one_of("norm", "value"), doc="how gradients are clipped"),
    "trainer.accumulate_grad_batches": key(POSITIVE, doc="batches per optimiser step"),
    "trainer.check_val_every_n_epoch": key(POSITIVE, NULL, doc="validate every n epochs"),
    "trainer.val_check_interval": key(
        NULL, POSITIVE, reals(0, 1, low_open=True), doc="validate every n batches, or this share of an epoch"
    ),
    "trainer.limit_train_batches": key(*BATCH_LIMIT, doc="batches (or share) per training epoch"),
    "trainer.limit_val_batches": key(*BATCH_LIMIT, doc="batches (or share) per validation"),
    "trainer.limit_test_batches": key(*BATCH_LIMIT, doc="batches (or share) per test"),
    "trainer.overfit_batches": key(ints(0), reals(0, 1), doc="train and validate on these batches only"),
    "trainer.log_every_n_steps": key(POSITIVE, doc="logging interval in optimiser steps"),
    "trainer.deterministic": key(FLAG, one_of("warn"), doc="reproducible kernels"),
    "trainer.benchmark": key(FLAG, NULL, doc="cudnn.benchmark"),
    "trainer.enable_progress_bar": key(FLAG, doc="show a progress bar"),
    "trainer.num_sanity_val_steps": key(ints(-1), doc="validation batches before training; -1: all"),
    "trainer.sync_batchnorm": key(FLAG, doc="DDP: synchronise batch norm statistics"),
    # callbacks
    "callbacks.model_checkpoint.save_top_k": key(ints(-1), doc="best checkpoints kept; -1: all"),
    "callbacks.model_checkpoint.every_n_epochs": key(COUNT, NULL, doc="checkpoint interval in epochs"),
    "callbacks.model_checkpoint.mode": key(one_of("min", "max"), doc="whether smaller is better"),
    "callbacks.model_checkpoint.save_last": key(FLAG, NULL, one_of("link"), doc="also write last.ckpt"),
    "callbacks.model_checkpoint.auto_insert_metric_name": key(FLAG, doc="metric names in file names"),
    "callbacks.last_checkpoint.save_top_k": key(ints(-1), doc="last checkpoints kept"),
    "callbacks.last_checkpoint.every_n_epochs": key(COUNT, NULL, doc="last.ckpt interval in epochs"),
    "callbacks.last_checkpoint.enable_version_counter": key(
        FLAG, doc="last-v1.ckpt … instead of overwriting"
    ),
    "callbacks.last_checkpoint.save_on_exception": key(FLAG, doc="write last.ckpt on a crash or SIGTERM"),
    "callbacks.early_stopping.patience": key(COUNT, doc="validations without improvement before stopping"),
    "callbacks.early_stopping.min_delta": key(reals(0), doc="smallest change that counts as improvement"),
    "callbacks.early_stopping.mode": key(one_of("min", "max"), doc="whether smaller is better"),
    "callbacks.early_stopping.check_on_train_epoch_end": key(
        FLAG, NULL, doc="also decide at epoch ends without a validation"
    ),
    "callbacks.lr_monitor.logging_interval": key(one_of("step", "epoch"), NULL, doc="when the lr is logged"),
    "callbacks.progress_bar.refresh_rate": key(COUNT, doc="bar refresh in steps; 0: off"),
    "callbacks.model_summary.max_depth": key(ints(-1), doc="module depth of the summary; -1: all"),
    "callbacks.preemption.requeue_signal": key(
        one_of("USR1", "USR2", "TERM", "SIGUSR1", "SIGUSR2", "SIGTERM", "none"),
        NULL,
        doc="in a SLURM job: checkpoint, scontrol requeue, exit on this signal",
    ),
    "callbacks.samples.every_n_epochs": key(POSITIVE, doc="text samples every n epochs"),
    "callbacks.samples.images_every_n_epochs": key(
        POSITIVE, NULL, doc="images every n epochs; null: with texts"
    ),
    # logger
    "logger.tensorboard.default_hp_metric": key(FLAG, doc="log a placeholder hp_metric"),
    # hparams_search=<app>_optuna
    "search.n_trials": key(POSITIVE, doc="trials in the study (finished ones count)"),
    "search.test_trials": key(FLAG, doc="test each trial's best checkpoint too"),
    "search.pruner.startup_trials": key(COUNT, doc="no pruning before this many trials finished"),
    "search.pruner.warmup_epochs": key(COUNT, doc="nor before this epoch of a trial"),
    # launcher=slurm|slurm_local (resources/)
    "resources.nodes": key(POSITIVE, doc="SLURM nodes"),
    "resources.gpus_per_node": key(COUNT, doc="GPUs (and tasks) per node"),
    "resources.cpus_per_task": key(POSITIVE, doc="CPU cores per task"),
    "resources.mem_gb": key(reals(0, low_open=True), doc="memory per node in GB"),
    "resources.timeout_min": key(POSITIVE, doc="job time limit in minutes"),
}

# ---------------------------------------------------------------- data sources, by the class they build
# data/corpus, data/dataset, data/series: any option composes with any app, so their keys are
# declared per source (its ``_target_``), relative to the group.
_GENERATED = {
    "train_size": key(POSITIVE, doc="generated training examples"),
    "val_size": key(POSITIVE, doc="generated validation examples"),
    "test_size": key(POSITIVE, doc="generated test examples"),
    "seed": key(SEED, doc="seeds the generated data"),
}
_FRACTIONS = {
    "val_fraction": key(FRACTION, doc="share held out for validation"),
    "test_fraction": key(FRACTION, doc="share held out for testing"),
    "seed": key(SEED, doc="seeds the split"),
}
_SEASON = {"season_length": key(POSITIVE, doc="seasonal period in steps, for the baselines")}
SOURCES: dict[str, Table] = {
    "lstm_apps.data.corpus.PydocCorpus": _FRACTIONS,
    "lstm_apps.data.corpus.TextFiles": {},
    "lstm_apps.data.parallel.DateCorpus": _GENERATED,
    "lstm_apps.data.parallel.ParallelFiles": {
        "format": key(one_of("tsv", "aligned"), doc="one TSV file, or aligned source/target files"),
    },
    "lstm_apps.data.ner_corpus.GeneratedNerCorpus": {
        **_GENERATED,
        "holdout": key(DROPOUT, doc="share of each name list only val/test use"),
    },
    "lstm_apps.data.conll.ConllFiles": {
        "word_column": key(COUNT, doc="column of the words"),
        "tag_column": key(ints(), doc="column of the tags; negative counts from the last"),
        "scheme": key(one_of("iob1", "iob2", "bioes", "none"), doc="the scheme the files are written in"),
    },
    "lstm_apps.data.stdlib_docstrings.StdlibDocstrings": {
        **_FRACTIONS,
        "min_examples": key(POSITIVE, doc="packages with fewer docstrings are left out"),
        "min_chars": key(COUNT, doc="shorter docstrings are left out"),
    },
    "lstm_apps.data.labelled_text.LabelledTextFiles": {
        "format": key(one_of("auto", "csv", "tsv", "jsonl"), doc="the file format"),
    },
    "lstm_apps.data.caption_sources.ScenesDataset": _GENERATED,
    "lstm_apps.data.caption_sources.CocoDataset": {},
    "lstm_apps.data.caption_sources.KarpathyDataset": {},
    "lstm_apps.data.time_series.StatsmodelsSeries": _SEASON,
    "lstm_apps.data.time_series.SeriesFile": _SEASON,
}
SOURCE_GROUPS = ("corpus", "dataset", "series")

# ---------------------------------------------------------------- per app: data.* and model.*
_TRAINING = {
    "data.batch_size": key(POSITIVE, doc="examples per device per step"),
    "data.eval_batch_size": key(POSITIVE, doc="examples per device when evaluating"),
    "model.dropout": key(DROPOUT, doc="dropout probability"),
    "model.compile": key(FLAG, doc="torch.compile the forward pass"),
}
# Token-based training batches (seq2seq, tagger, classifier).
_TOKEN_BATCHES = {
    "data.max_tokens": key(POSITIVE, NULL, doc="padded tokens per training batch; null: batch_size sentences")
}
_DATA_SEED = {"data.seed": key(SEED, NULL, doc="seeds the data order and splits")}
_EXAMPLES = {"model.log_examples": key(COUNT, doc="validation examples shown in TensorBoard")}
_VOCAB = {
    "data.vocab_size": key(POSITIVE, doc="largest vocabulary (word/bpe)"),
    "data.min_frequency": key(POSITIVE, doc="rarer training tokens become <unk>"),
}
_LOWERCASE = {"data.lowercase": key(FLAG, doc="lowercase the text (word and bpe tokenizers)")}

APP: dict[str, Table] = {
    "textgen": {
        **_TRAINING,
        **_VOCAB,
        "data.tokenizer": key(one_of("char", "bpe"), doc="how text becomes tokens"),
        "data.bptt": key(POSITIVE, doc="truncated-BPTT window length"),
        "model.embedding_dim": key(POSITIVE, doc="token embedding size"),
        "model.hidden_size": key(POSITIVE, doc="recurrent state size"),
        "model.num_layers": key(POSITIVE, doc="stacked recurrent layers"),
        "model.cell": key(CELLS, doc="recurrent cell"),
        "model.proj_size": key(COUNT, doc="LSTM projection size; 0: none"),
        "model.embedding_dropout": key(DROPOUT, doc="dropout on embeddings"),
        "model.output_dropout": key(DROPOUT, doc="dropout before the output layer"),
        "model.tie_weights": key(FLAG, doc="share input and output embeddings"),
        "model.sample_tokens": key(POSITIVE, doc="tokens per validation sample"),
        "model.sample_temperature": key(reals(0, low_open=True), doc="temperature of validation samples"),
    },
    "seq2seq": {
        **_TRAINING,
        **_DATA_SEED,
        **_TOKEN_BATCHES,
        **_EXAMPLES,
        **_LOWERCASE,
        **_VOCAB,
        "data.tokenizer": key(one_of("char", "word", "bpe"), doc="how text becomes tokens"),
        "data.shared_vocab": key(FLAG, doc="one tokenizer for source and target"),
        "data.max_source_len": key(POSITIVE, doc="longer training pairs are dropped"),
        "data.max_target_len": key(POSITIVE, doc="longer training pairs are dropped"),
        "model.embedding_dim": key(POSITIVE, doc="token embedding size"),
        "model.hidden_size": key(POSITIVE, doc="recurrent state size"),
        "model.encoder_layers": key(POSITIVE, doc="encoder layers"),
        "model.decoder_layers": key(POSITIVE, doc="decoder layers"),
        "model.bidirectional": key(FLAG, doc="bidirectional encoder"),
        "model.cell": key(CELLS, doc="recurrent cell"),
        "model.attention": key(ATTENTIONS, doc="attention score"),
        "model.input_feeding": key(FLAG, doc="Luong input feeding"),
        "model.tie_embeddings": key(FLAG, doc="share decoder input and output embeddings"),
        "model.label_smoothing": key(DROPOUT, doc="label smoothing of the loss"),
        "model.val_beam_size": key(POSITIVE, doc="beam at validation; 1: greedy"),
        "model.test_beam_size": key(POSITIVE, doc="beam at test; 1: greedy"),
        "model.length_penalty": key(reals(0), doc="GNMT length penalty alpha"),
        "model.max_len_a": key(reals(0), doc="decode at most a * source length + b tokens"),
        "model.max_len_b": key(COUNT, doc="decode at most a * source length + b tokens"),
        "model.replace_unknown": key(FLAG, doc="<unk> -> the source word of highest attention"),
    },
    "captioner": {
        **_TRAINING,
        **_EXAMPLES,
        "data.image_size": key(ints(16), doc="images are resized and cropped to this"),
        "data.vocab_size": key(POSITIVE, doc="largest vocabulary"),
        "data.min_frequency": key(POSITIVE, doc="rarer caption words become <unk>"),
        "data.max_caption_len": key(POSITIVE, doc="longer training captions are cut"),
        "data.num_workers": key(COUNT, doc="image decoding workers"),
        "data.cache_images": key(FLAG, doc="keep transformed images in memory"),
        "model.encoder.backbone": key(
            one_of("small", "resnet18", "resnet34", "resnet50", "resnet101"), doc="the image CNN"
        ),
        "model.encoder.grid_size": key(POSITIVE, doc="features pooled to grid_size x grid_size regions"),
        "model.encoder.trainable_blocks": key(ints(-1), doc="ResNet stages fine-tuned; -1: all"),
        "model.encoder.channels": key(POSITIVE, doc="small CNN width"),
        "model.image_size": key(ints(16), doc="the image size the encoder expects"),
        "model.embedding_dim": key(POSITIVE, doc="word embedding size"),
        "model.hidden_size": key(POSITIVE, doc="decoder state size"),
        "model.num_layers": key(POSITIVE, doc="decoder layers"),
        "model.cell": key(CELLS, doc="recurrent cell"),
        "model.attention": key(ATTENTIONS, doc="attention score"),
        "model.context_gate": key(FLAG, doc="gate on the attended context"),
        "model.attention_penalty": key(reals(0), doc="doubly stochastic attention regulariser"),
        "model.label_smoothing": key(DROPOUT, doc="label smoothing of the loss"),
        "model.val_beam_size": key(POSITIVE, doc="beam at validation; 1: greedy"),
        "model.test_beam_size": key(POSITIVE, doc="beam at test; 1: greedy"),
        "model.length_penalty": key(reals(0), doc="GNMT length penalty alpha"),
        "model.max_len": key(POSITIVE, doc="longest generated caption"),
    },
    "tagger": {
        **_TRAINING,
        **_DATA_SEED,
        **_TOKEN_BATCHES,
        **_EXAMPLES,
        "data.scheme": key(one_of("iob2", "bioes", "none"), doc="the tag scheme the model learns"),
        "data.min_frequency": key(POSITIVE, doc="rarer training words become <unk>"),
        "data.lowercase": key(FLAG, doc="lowercase the word vocabulary"),
        "data.max_word_chars": key(POSITIVE, doc="longer words are cut for character features"),
        "model.word_dim": key(POSITIVE, doc="word embedding size"),
        "model.char_features": key(one_of("cnn", "lstm", "none"), doc="character features of words"),
        "model.char_dim": key(POSITIVE, doc="character embedding size"),
        "model.char_size": key(POSITIVE, doc="character feature size per word"),
        "model.char_kernel": key(POSITIVE, doc="character CNN kernel width"),
        "model.hidden_size": key(POSITIVE, doc="state size per direction"),
        "model.num_layers": key(POSITIVE, doc="stacked layers"),
        "model.cell": key(CELLS, doc="recurrent cell"),
        "model.word_dropout": key(DROPOUT, doc="training words replaced by <unk>"),
        "model.output": key(one_of("crf", "softmax"), doc="output layer"),
        "model.crf_algorithm": key(one_of("auto", "tree", "sequential"), doc="how the CRF sums paths"),
        "model.constrained": key(FLAG, doc="illegal transitions are never decoded"),
    },
    "classifier": {
        **_TRAINING,
        **_DATA_SEED,
        **_TOKEN_BATCHES,
        **_EXAMPLES,
        **_LOWERCASE,
        **_VOCAB,
        "data.tokenizer": key(one_of("word", "bpe", "char"), doc="how text becomes tokens"),
        "data.max_text_len": key(POSITIVE, doc="longer texts are cut"),
        "data.multi_label": key(FLAG, doc="several labels per example"),
        "data.class_weights": key(one_of("none", "balanced"), doc="loss weights per class"),
        "model.embedding_dim": key(POSITIVE, doc="token embedding size"),
        "model.hidden_size": key(POSITIVE, doc="state size per direction"),
        "model.num_layers": key(POSITIVE, doc="stacked layers"),
        "model.cell": key(CELLS, doc="recurrent cell"),
        "model.bidirectional": key(FLAG, doc="read texts both ways"),
        "model.pooling": key(one_of("last", "mean", "max", "attention"), doc="how states become one vector"),
        "model.attention_size": key(POSITIVE, doc="attention pooling size"),
        "model.threshold": key(FRACTION, doc="multi-label: probability from which a label is predicted"),
    },
    "forecaster": {
        **_TRAINING,
        **_DATA_SEED,
        **_EXAMPLES,
        "data.context": key(POSITIVE, doc="input steps"),
        "data.horizon": key(POSITIVE, doc="steps forecast at once"),
        "data.val_fraction": key(FRACTION, doc="share of the series for validation"),
        "data.test_fraction": key(FRACTION, doc="share of the series for testing"),
        "data.calendar": key(FLAG, doc="add the position in the year"),
        "data.eval_stride": key(POSITIVE, doc="step between val/test windows"),
        "model.head": key(one_of("direct", "seq2seq"), doc="multi-step head"),
        "model.hidden_size": key(POSITIVE, doc="recurrent state size"),
        "model.num_layers": key(POSITIVE, doc="stacked layers"),
        "model.cell": key(CELLS, doc="recurrent cell"),
        "model.quantiles": key(NULL, ListOf(FRACTION), doc="pinball-loss quantiles, e.g. [0.1,0.5,0.9]"),
        "model.relative": key(FLAG, doc="windows relative to their last input value"),
        "model.calibrate_intervals": key(FLAG, doc="conformal widening of the interval on validation"),
        "model.step_embedding_dim": key(POSITIVE, doc="seq2seq head: horizon step embedding size"),
    },
}

# ---------------------------------------------------------------- lstm-apps eval / export
_DEVICE_SIDE = {
    "float32_matmul_precision": RUN["float32_matmul_precision"],
    "expected_app": key(NULL, Text(r"[A-Za-z0-9_]+", "an app name"), doc="the checkpoint must be this app's"),
}
EVAL: Table = {
    **_DEVICE_SIDE,
    "split": key(one_of("test", "val"), doc="the split scored"),
    **{name: spec for name, spec in RUN.items() if name.startswith("trainer.")},
}
EXPORT: Table = {
    "expected_app": _DEVICE_SIDE["expected_app"],
    "format": key(one_of("onnx", "torchscript"), doc="the exported graph"),
    "tolerance": key(reals(0, low_open=True), doc="largest |exported - PyTorch| allowed"),
}

# ---------------------------------------------------------------- lstm-apps predict: options per app
_BATCH = {"batch_size": key(POSITIVE, doc="inputs per forward pass")}
PREDICT_COMMON: Table = {
    **_DEVICE_SIDE,
    "device": key(NULL, Text(r"cpu|cuda(:\d+)?|mps", "cpu, cuda, cuda:N or mps"), doc="where to run"),
}
PREDICT: dict[str, Table] = {
    "textgen": {
        "max_new_tokens": key(POSITIVE, doc="tokens generated per sample"),
        "num_samples": key(POSITIVE, doc="samples generated"),
        "greedy": key(FLAG, doc="always take the most probable token"),
        "temperature": key(reals(0, low_open=True), doc="sharpens (< 1) or flattens (> 1) sampling"),
        "top_k": key(COUNT, doc="sample among the k most probable; 0: all"),
        "top_p": key(reals(0, 1, low_open=True), doc="nucleus sampling mass; 1: all"),
        "seed": key(SEED, NULL, doc="seeds sampling"),
    },
    "seq2seq": {
        **_BATCH,
        "beam_size": key(POSITIVE, doc="beam width; 1: greedy"),
        "n_best": key(POSITIVE, doc="hypotheses printed per input (at most beam_size)"),
        "length_penalty": key(reals(0), NULL, doc="GNMT alpha; null: the model's"),
    },
    "captioner": {
        **_BATCH,
        "beam_size": key(POSITIVE, doc="beam width; 1: greedy"),
    },
    "tagger": {
        **_BATCH,
        "input_format": key(one_of("auto", "conll", "text"), doc="how input_file is read"),
    },
    "classifier": {
        **_BATCH,
        "top_labels": key(COUNT, doc="labels printed for text=; 0: all"),
    },
    "forecaster": {},
}
