# Developer tasks. `make run` and `make test` set everything up on a fresh machine; re-runs reuse
# what is already built (environments, model and KB index are keyed by content hashes).
SHELL := /bin/bash
APP := .venv/app/bin/python
BOT := .venv/bot/bin

.PHONY: help setup train kb kb-eval nlu-eval seed prepare run cluster test test-cluster bench bench-turns bench-cluster lint clean

help:            ## list the tasks
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

setup:           ## create/update both Python environments (.venv/bot 3.10, .venv/app 3.11)
	@scripts/bootstrap.sh all

train: setup     ## train the Rasa model if its inputs changed (models/atiende.tar.gz)
	@$(APP) -m scripts.prepare model

kb: setup        ## build the knowledge-base index if the articles changed (var/kb_index)
	@$(APP) -m scripts.prepare kb

seed: setup      ## create the demo store and demo agents (once per data directory)
	@$(APP) -m scripts.prepare seed

prepare: setup   ## train + kb + seed
	@$(APP) -m scripts.prepare all

run: prepare     ## set everything up and start Rasa, actions and the handoff API; Ctrl-C stops all
	@$(APP) -m scripts.run

cluster: prepare ## 2 x Rasa, actions and handoff API behind HAProxy on PostgreSQL + Redis (scripts/cluster.py)
	@scripts/browser.sh
	@$(APP) -m scripts.cluster

test-cluster: prepare ## only the cluster's tests (make test runs them too)
	@scripts/browser.sh
	@ATIENDE_DATA_DIR=$${ATIENDE_TEST_DATA_DIR:-$$PWD/var/test} $(APP) -m pytest tests/cluster -p no:cacheprovider

test: setup      ## set everything up and run every test (pytest in both envs, rasa validate + stories)
	@scripts/browser.sh
	@ATIENDE_DATA_DIR=$${ATIENDE_TEST_DATA_DIR:-$$PWD/var/test} $(APP) -m scripts.prepare all
	@scripts/test.sh

kb-eval: kb       ## KB retrieval quality: recall@1/@3, MRR per language (reports/kb)
	@$(APP) -m kb_index eval --index var/kb_index --queries tests/data/kb_queries.jsonl --out-of-scope tests/data/kb_out_of_scope.jsonl --report reports/kb/eval.json

nlu-eval: setup  ## NLU quality per language: 3-fold CV (3 seeds) + both blind held-out sets + external set (reports/nlu)
	@$(BOT)/python -m scripts.nlu_crossval --folds 3 --seeds 42,7,13
	@$(BOT)/python -m scripts.nlu_heldout --dir tests/data/nlu_heldout --dir tests/data/nlu_heldout_v2
	@$(BOT)/python -m scripts.nlu_external

bench:           ## run the benchmarks in bench/ (prints figures)
	@$(APP) -m bench.redaction
	@$(APP) -m bench.kb_search
	@$(APP) -m bench.claim_throughput
	@$(BOT)/python -m bench.nlu_latency
	@$(APP) -m bench.media_put
	@$(APP) -m bench.identity_attempts
	@$(APP) -m bench.dashboard_metrics

bench-turns: prepare ## turn latency, turns/s and per-stage breakdown of the running system (reports/perf)
	@$(APP) -m bench.turn_latency --variant "stock:ATIENDE_RASA_SPEEDUPS=0" --variant "now:" --report reports/perf/turn_latency.json

bench-cluster: prepare ## turns/s through the cluster's balancer with 2, 1, 2 Rasa replicas (reports/perf/cluster.md)
	@$(APP) -m bench.cluster_throughput --sequence 2,1,2 --report reports/perf/cluster_throughput.json

lint:            ## ruff over the code
	@$(APP) -m ruff check bot actions kb_index handoff_api scripts tests bench media_store privacy timing

clean:           ## remove built artefacts (keeps the environments)
	rm -rf var models results .stamps
