# atlas-vllm: `make demo` runs the deploy on a sandbox fleet; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done
SIM := $(BIN)/atlas-sim
NODES ?= 2
OS ?= ubuntu22.04,openeuler22.03
GATEWAYS ?= 1
KEEP ?= 0
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup demo test lint unit sandbox-test molecule nightly bench bench-quick clean

help:
	@echo "make demo   - boot a sandbox fleet ($(NODES) nodes, $(GATEWAYS) gateway), deploy, show the result (KEEP=1 keeps the fleet)"
	@echo "make test   - lint, unit tests, sandbox tests and Molecule scenarios"
	@echo "make setup  - create or refresh .venv (Python tools, Ansible collections, Debian packages)"
	@echo "make lint   - ansible-lint (production profile) and ruff"
	@echo "make nightly [INVENTORY=path] - deploy twice (fail on drift), verify, report + JUnit"
	@echo "make bench  - fleet-scale performance ratios on the sandbox, printed as a table"
	@echo "make bench-quick - the deploy and scaling measures at 4 and 8 nodes only"
	@echo "make clean  - stop any sandbox fleet and remove .venv, build/ and caches"

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install_collections.py scripts/host-packages.txt
	@scripts/install-host-packages.sh
	@test -x $(BIN)/python || { echo "creating $(VENV)"; python3 -m venv $(VENV); }
	@echo "installing Python packages into $(VENV) (first run: about a minute)"
	@$(BIN)/pip install --quiet --disable-pip-version-check -e .
	@$(BIN)/python scripts/install_collections.py
	@touch $@

demo: setup
	@$(SIM) up --nodes $(NODES) --gateways $(GATEWAYS) --os $(OS)
	@set -e; trap '[ "$(KEEP)" = 1 ] || $(SIM) down' EXIT; \
	  $(SIM) run -- ansible-playbook deploy.yml -i "$$($(SIM) inventory)"; \
	  $(BIN)/python scripts/demo_request.py; \
	  if [ "$(KEEP)" = 1 ]; then echo "fleet kept: $(SIM) status / $(SIM) down"; \
	  else echo "stopping the fleet (make demo KEEP=1 keeps it)"; fi

test: lint unit sandbox-test molecule

bench: setup
	$(BIN)/python scripts/bench.py

# The deploy and scaling measures at 4 and 8 nodes only: a fast look before the full run.
bench-quick: setup
	$(BIN)/python scripts/bench.py --quick --only p

# Against the sandbox by default; INVENTORY=path runs the same against a real fleet.
nightly: setup
	$(BIN)/python scripts/nightly.py $(if $(INVENTORY),--inventory $(INVENTORY))

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ansible-lint --profile production --offline

unit: setup
	$(BIN)/pytest tests/unit

sandbox-test: setup
	$(BIN)/pytest tests/integration

# Molecule and Ansible write ~/.ansible; a scratch HOME keeps that out of the operator's home.
molecule: setup
	@mkdir -p build/home
	HOME=$(CURDIR)/build/home $(BIN)/molecule test --all

# One scenario alone, e.g. `make molecule-rolling` (changes and drains under load through the router).
molecule-%: setup
	@mkdir -p build/home
	HOME=$(CURDIR)/build/home $(BIN)/molecule test -s $*

clean:
	-@test -x $(SIM) && $(SIM) down
	rm -rf $(VENV) build .cache .pytest_cache .ruff_cache
