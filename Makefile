# lstm-apps — `make help` lists the targets. Every target that needs Python depends on the venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install.stamp
APP ?= textgen
ARGS ?=
CKPT ?= $(shell ls -t runs/$(APP)/*/checkpoints/last.ckpt 2>/dev/null | head -n 1)
PORT ?= 6006
WORKERS ?= 1
SIZES ?= 10 100
PAIRS ?= 200
TEST_WORKERS ?= 2
# The exact torch build the project is tested with; the package itself only sets a floor.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.DEFAULT_GOAL := help
.PHONY: help install train sweep eval predict inspect serve test test-fast bench bench-serve bench-cells bench-inspect bench-gpu bench-data tensorboard lint typecheck format clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'
	@echo "  variables: APP=$(APP) ARGS='key=value …' CKPT=<checkpoint> (default: newest last.ckpt of APP) WORKERS=$(WORKERS)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet $(TORCH_PINS)
	$(BIN)/pip install --quiet -e ".[dev,all]" $(TORCH_PINS)
	@touch $(STAMP)

install: $(STAMP) ## create .venv, install the package (editable) with every extra and the dev tools

train: $(STAMP) ## train APP on its default data: make train APP=textgen ARGS="trainer.max_epochs=3"
	$(BIN)/lstm-apps train app=$(APP) $(ARGS)

sweep: $(STAMP) ## Optuna search over APP's main knobs, resumable, WORKERS processes: make sweep APP=tagger WORKERS=2 ARGS="search.n_trials=40"
	@pids=""; for worker in $$(seq $(WORKERS)); do \
	  $(BIN)/lstm-apps train hparams_search=$(APP)_optuna resume=auto $(ARGS) & pids="$$pids $$!"; \
	done; status=0; for pid in $$pids; do wait $$pid || status=$$?; done; exit $$status

eval: $(STAMP) ## score CKPT (default: newest last.ckpt of APP) on its test split
	@test -n "$(CKPT)" || { echo "no checkpoint found for APP=$(APP): run 'make train' or pass CKPT=…"; exit 2; }
	$(BIN)/lstm-apps eval ckpt_path=$(CKPT) $(ARGS)

predict: $(STAMP) ## run CKPT on new input: make predict ARGS='prompt="The function"'
	@test -n "$(CKPT)" || { echo "no checkpoint found for APP=$(APP): run 'make train' or pass CKPT=…"; exit 2; }
	$(BIN)/lstm-apps predict ckpt_path=$(CKPT) $(ARGS)

inspect: $(STAMP) ## the cells of CKPT over an input, drawn and ranked: make inspect ARGS='input=@notes.txt find=true'
	@test -n "$(CKPT)" || { echo "no checkpoint found for APP=$(APP): run 'make train' or pass CKPT=…"; exit 2; }
	$(BIN)/lstm-apps inspect ckpt_path=$(CKPT) $(ARGS)

serve: $(STAMP) ## serve CKPT over HTTP with a playground at /: make serve ARGS="serve.port=8000"
	@test -n "$(CKPT)" || { echo "no checkpoint found for APP=$(APP): run 'make train' or pass CKPT=…"; exit 2; }
	$(BIN)/lstm-apps serve ckpt_path=$(CKPT) $(ARGS)

test: $(STAMP) ## run the whole offline test suite, in TEST_WORKERS processes (pytest-xdist, tests shared out as workers free up)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal $(ARGS)

test-fast: $(STAMP) ## the suite without the slow and GPU tests (see docs/testing.md)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not slow and not gpu" $(ARGS)

bench: $(STAMP) ## per app: Lightning vs plain-PyTorch throughput, decoding speed, then bench-serve, bench-cells, bench-inspect and bench-data -> bench/results.md
	$(BIN)/python bench/run.py $(ARGS)
	$(MAKE) --no-print-directory bench-serve
	$(MAKE) --no-print-directory bench-cells
	$(MAKE) --no-print-directory bench-inspect
	$(MAKE) --no-print-directory bench-data

bench-cells: $(STAMP) ## the recurrent cells side by side: tokens/s and memory at equal parameters, lengths 64-4096
	$(BIN)/python bench/cells.py

bench-inspect: $(STAMP) ## what callbacks=inspect costs per app at its default interval (goal <= 10 %)
	$(BIN)/python bench/inspect_cost.py

bench-serve: $(STAMP) ## served models: requests/s and p50/p99 at 1, 8, 32 HTTP clients, batching off and on
	$(BIN)/python bench/serve.py

bench-gpu: $(STAMP) ## one GPU, 9 min: every app's throughput, then the results recipes side by side -> bench/results_gpu.md, docs/results.md
	$(BIN)/python bench/gpu.py $(ARGS)

bench-data: $(STAMP) ## large corpora: prepare speed, peak RSS, start -> 1st step: make bench-data SIZES="10 100 1000" PAIRS="200 1000"
	$(BIN)/python bench/large_corpus.py $(SIZES)
	$(BIN)/python bench/large_corpus.py --pairs $(PAIRS)

tensorboard: $(STAMP) ## serve runs/ on http://localhost:$(PORT)
	$(BIN)/tensorboard --logdir runs --port $(PORT) --bind_all

lint: $(STAMP) ## ruff checks
	$(BIN)/ruff check src tests bench apps
	$(BIN)/ruff format --check src tests bench apps

typecheck: $(STAMP) ## mypy over src (settings in pyproject.toml)
	$(BIN)/mypy

format: $(STAMP) ## ruff autofix and format
	$(BIN)/ruff check --fix src tests bench apps
	$(BIN)/ruff format src tests bench apps

clean: ## remove the venv, caches and runs
	rm -rf $(VENV) .pytest_cache .ruff_cache runs outputs multirun src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
