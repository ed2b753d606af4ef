#!/usr/bin/env bash
# The fine-tuning and transfer measurements of docs/results.md, stage by stage, on the data sets
# of lstm-apps prepare (sst2, conll2002_es, multi30k, tinyshakespeare) under $LSTM_APPS_ROOT/data.
#   bash bench/finetune/run.sh corpora | lms_en | sst2 | lms_es | tagger | textgen   (in this order)
# Runs land in $LSTM_APPS_ROOT/runs/finetune/<name>/; bench/finetune/collect.py tabulates them.
set -euo pipefail
ROOT=${LSTM_APPS_ROOT:?set LSTM_APPS_ROOT (data/ and runs/ live there)}
HERE=$(cd "$(dirname "$0")" && pwd)
C=$ROOT/corpora
OUT=$ROOT/runs/finetune
SEEDS=${SEEDS:-"1 2 3"}
train() { local name=$1; shift; [ -f "$OUT/$name/done" ] && return 0
  lstm-apps train "hydra.run.dir=$OUT/$name" run_group=finetune trainer=cpu callbacks.progress_bar=null "$@" \
    && touch "$OUT/$name/done"; }

# English word LM for SST-2 (forward and reversed text): 3 epochs of ~0.5M words.
LM_EN=(app=textgen data/corpus=text_files "data.corpus.train=$C/lm_en/train.txt" "data.corpus.val=$C/lm_en/val.txt"
  data.tokenizer=word data.lowercase=true data.word_split=punctuation data.vocab_size=20000
  data.batch_size=64 data.bptt=64 model.embedding_dim=300 model.hidden_size=256 model.num_layers=1
  model.output_dropout=0.3 trainer.max_epochs=3 test_after_fit=false)
# Spanish word LM on the CoNLL-2002 training text, the tagger's word and hidden sizes.
LM_ES=(app=textgen data/corpus=text_files "data.corpus.train=$C/lm_es/train.txt" "data.corpus.val=$C/lm_es/val.txt"
  data.tokenizer=word data.word_split=whitespace data.vocab_size=100000
  data.batch_size=32 data.bptt=64 model.embedding_dim=100 model.hidden_size=100 model.num_layers=1
  trainer.max_epochs=4 test_after_fit=false)
# SST-2 classifier: the recipe's network (BiLSTM 2 x 256, attention pooling) at 300-d embeddings.
SST=(experiment=classifier_sst2 data.batch_size=64)
TAGGER=(experiment=tagger_conll2002_es trainer.max_epochs=6 callbacks.early_stopping=null)
best() { ls "$OUT/$1"/checkpoints/epoch*.ckpt | head -1; }

case ${1:?stage} in
  corpora) python "$HERE/make_corpora.py" "$ROOT/data" "$C" ;;
  lms_en)
    train lm_en_fwd "${LM_EN[@]}"
    train lm_en_bwd "${LM_EN[@]}" data.reverse=true trainer.max_epochs=2 ;;
  lms_es)
    train lm_es_fwd "${LM_ES[@]}"
    train lm_es_bwd "${LM_ES[@]}" data.reverse=true ;;
  sst2)
    for seed in $SEEDS; do for pct in 1 10 100; do
      case $pct in 100) [ "$seed" = 3 ] && continue; rows=(); epochs=2 ;;  # two seeds at 100 %
        *) rows=("data.corpus.train=$C/sst2_${pct}pct/train.tsv"); epochs=$((pct == 1 ? 30 : 10)) ;; esac
      common=("${SST[@]}" "${rows[@]}" trainer.max_epochs=$epochs callbacks.early_stopping=null seed=$seed)
      train "sst2_${pct}pct_scratch_s$seed" "${common[@]}"
      train "sst2_${pct}pct_lm_s$seed" "${common[@]}" "init_from=$(best lm_en_fwd)" "init_from_backward=$(best lm_en_bwd)"
      train "sst2_${pct}pct_lm_ulmfit_s$seed" "${common[@]}" "init_from=$(best lm_en_fwd)" "init_from_backward=$(best lm_en_bwd)" \
        finetune.unfreeze_every=1 finetune.lr_decay=2.6
    done; done ;;
  tagger)
    for seed in 1 2; do
      train "tagger_scratch_s$seed" "${TAGGER[@]}" seed=$seed
      train "tagger_lm_s$seed" "${TAGGER[@]}" seed=$seed "init_from=$(best lm_es_fwd)" "init_from_backward=$(best lm_es_bwd)"
    done ;;
  textgen)
    CHAR=(app=textgen data/corpus=text_files data.batch_size=32 data.bptt=128 model.embedding_dim=256
      model.hidden_size=256 model.num_layers=2 test_after_fit=false callbacks.early_stopping=null)
    train shakespeare "${CHAR[@]}" "data.corpus.train=$ROOT/data/textgen/tinyshakespeare/train.txt" \
      "data.corpus.val=$ROOT/data/textgen/tinyshakespeare/val.txt" trainer.max_steps=1000
    for seed in 1 2; do
      CAPTIONS=("${CHAR[@]}" "data.corpus.train=$C/captions_en/train.txt" "data.corpus.val=$C/captions_en/val.txt"
        trainer.max_steps=200 trainer.val_check_interval=50 seed=$seed)
      train "captions_scratch_s$seed" "${CAPTIONS[@]}"
      train "captions_from_shakespeare_s$seed" "${CAPTIONS[@]}" "init_from=$(best shakespeare)"
    done ;;
  *) echo "unknown stage: $1" >&2; exit 2 ;;
esac
