# atlas-vllm: `make demo` runs the deploy on a sandbox fleet; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done
SIM := $(BIN)/atlas-sim
# The oldest supported ansible-core (meta/runtime.yml) and the ansible package its collections come from.
OLDEST := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.setup-done
OLDEST_ANSIBLE := 9.13.0
NODES ?= 2
OS ?= ubuntu22.04,openeuler22.03
GATEWAYS ?= 1
KEEP ?= 0
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup demo test lint sanity unit sandbox-test molecule oldest-core nightly bench bench-quick clean

help:
	@echo "make demo   - boot a sandbox fleet ($(NODES) nodes, $(GATEWAYS) gateway), deploy, show the result (KEEP=1 keeps the fleet)"
	@echo "make test   - lint, unit tests, sandbox tests and Molecule scenarios, then the oldest supported core"
	@echo "make oldest-core - the collection's unit tests and the deploy scenario on ansible-core 2.16"
	@echo "make setup  - create or refresh .venv (Python tools, Ansible collections, Debian packages)"
	@echo "make lint   - ansible-lint (production profile) and ruff"
	@echo "make sanity - ansible-test sanity on the built collection"
	@echo "make nightly [INVENTORY=path] - deploy twice (fail on drift), verify, report + JUnit"
	@echo "make bench  - fleet-scale performance ratios on the sandbox, printed as a table"
	@echo "make bench-quick - the deploy and scaling measures at 4 and 8 nodes only"
	@echo "make clean  - stop any sandbox fleet and remove .venv, build/ and caches"

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install_collections.py scripts/install_promtool.py scripts/host-packages.txt
	@scripts/install-host-packages.sh
	@test -x $(BIN)/python || { echo "creating $(VENV)"; python3 -m venv $(VENV); }
	@echo "installing Python packages into $(VENV) (first run: about a minute)"
	@$(BIN)/pip install --quiet --disable-pip-version-check -e .
	@$(BIN)/python scripts/install_collections.py
	@$(BIN)/python scripts/install_promtool.py
	@touch $@

demo: setup
	@$(SIM) up --nodes $(NODES) --gateways $(GATEWAYS) --os $(OS)
	@set -e; trap '[ "$(KEEP)" = 1 ] || $(SIM) down' EXIT; \
	  $(SIM) run -- ansible-playbook deploy.yml -i "$$($(SIM) inventory)"; \
	  $(BIN)/python scripts/demo_request.py; \
	  if [ "$(KEEP)" = 1 ]; then echo "fleet kept: $(SIM) status / $(SIM) down"; \
	  else echo "stopping the fleet (make demo KEEP=1 keeps it)"; fi

test: lint sanity unit sandbox-test molecule oldest-core

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

# ansible-test sanity on the built collection, offline (scripts/sanity.py says how).
sanity: setup
	$(BIN)/python scripts/sanity.py

unit: setup
	$(BIN)/pytest tests/unit

sandbox-test: setup
	$(BIN)/pytest tests/integration

# Molecule and Ansible write ~/.ansible; a scratch HOME keeps that out of the operator's home.
molecule: setup
	@mkdir -p build/home
	HOME=$(CURDIR)/build/home $(BIN)/molecule test --all

# The oldest ansible-core of the supported range: the collection's unit tests (the twin's and the scripts' run
# on the project's own Python above) and deploy.yml end to end, with the collections of that era.
$(OLDEST_STAMP): tests/requirements-oldest-core.txt scripts/install_collections.py | $(STAMP)
	@test -x $(OLDEST)/bin/python || { echo "creating $(OLDEST)"; python3 -m venv $(OLDEST); }
	@echo "installing ansible-core 2.16 and its test tools into $(OLDEST)"
	@$(OLDEST)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-oldest-core.txt
	@$(BIN)/python scripts/install_collections.py --venv $(OLDEST) --ansible $(OLDEST_ANSIBLE)
	@touch $@

oldest-core: $(OLDEST_STAMP)
	$(OLDEST)/bin/vermin -q --no-tips --violations -t=3.9- plugins/modules plugins/module_utils
	$(OLDEST)/bin/vermin -q --no-tips --violations -t=3.10- plugins
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(OLDEST)/collections $(OLDEST)/bin/pytest -p no:cacheprovider tests/unit \
	  --ignore=tests/unit/sandbox --ignore=tests/unit/scripts
	@mkdir -p build/home
	# .config/molecule/config.yml takes the collections from $(ATLAS_VLLM_VENV)/collections (default .venv).
	HOME=$(CURDIR)/build/home PATH=$(CURDIR)/$(OLDEST)/bin:$(PATH) ATLAS_VLLM_VENV=$(OLDEST) \
	  $(OLDEST)/bin/molecule test -s deploy

# One scenario alone, e.g. `make molecule-rolling` (changes and drains under load through the router).
molecule-%: setup
	@mkdir -p build/home
	HOME=$(CURDIR)/build/home $(BIN)/molecule test -s $*

clean:
	-@test -x $(SIM) && $(SIM) down
	rm -rf $(VENV) $(OLDEST) build .cache .pytest_cache .ruff_cache
