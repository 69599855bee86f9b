# One task file for people, CI and pre-commit. Every target sets up its own venv under .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXAMPLE := examples/csv-export
MERMAID := .cache/mermaid

.PHONY: setup mermaid messages demo test lint docs bench record golden clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "drafter needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

# Mermaid's own parser (npm) for tests/test_mermaid.py, pinned by tests/mermaid/package-lock.json.
$(MERMAID)/.installed-stamp: tests/mermaid/package.json tests/mermaid/package-lock.json
	mkdir -p $(MERMAID)
	cp tests/mermaid/package.json tests/mermaid/package-lock.json $(MERMAID)/
	cd $(MERMAID) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

mermaid:  ## install Mermaid's parser for the diagram tests (skipped, with a reason, without npm)
	@if command -v npm >/dev/null; then \
		$(MAKE) --no-print-directory $(MERMAID)/.installed-stamp || echo "Mermaid not installed: its parser tests will skip"; \
	else echo "npm not found: the Mermaid parser tests will skip"; fi

demo: setup  ## draft the bundled example's PLAN.md (offline, no key needed)
	$(BIN)/drafter spec-to-plan $(EXAMPLE)/SPEC.md
	@echo "--- $(EXAMPLE)/PLAN.md (first 40 lines) ---"
	@head -n 40 $(EXAMPLE)/PLAN.md

test: setup mermaid  ## run the test suite (no network, no key)
	$(BIN)/python -m pytest -q -n auto

lint: setup  ## ruff, formatting, mypy, and the layer contract (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy drafter
	$(BIN)/lint-imports

docs: setup  ## regenerate docs/cli-reference.md and the synopsis in docs/cli.md from the app
	$(BIN)/python -m drafter.cli.reference

bench: setup  ## print speed figures as ratios to baselines measured in the same run
	$(BIN)/python bench/bench_offline.py
	$(BIN)/python bench/bench_llm.py
	$(BIN)/python bench/bench_grounding.py  # corpus trees from ../trees (see docs/grounding.md)

record: setup  ## re-record cassettes/ for the examples from the fake provider (no key needed)
	@set -e; log=$$(mktemp); \
	$(BIN)/python -m drafter.testing.fake_openai --port 0 --warm-cache >$$log 2>&1 & pid=$$!; \
	trap 'kill $$pid; rm -f $$log' EXIT; \
	for i in 1 2 3 4 5 6 7 8 9 10; do grep -q http $$log && break; sleep 0.3; done; \
	$(BIN)/drafter batch '$(EXAMPLE)/SPEC.md' --check --record-dir cassettes --model openai:fake \
		--base-url "$$(sed -n 's/.* on //p' $$log)" >/dev/null || test $$? -eq 1

golden: setup  ## refresh golden files deliberately, then review the diff
	DRAFTER_UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q
	$(BIN)/drafter spec-to-plan $(EXAMPLE)/SPEC.md --force

clean:
	rm -rf $(VENV) .cache .drafter build dist *.egg-info

messages: setup  ## refresh the prose catalog: extract, merge into each language's .po, compile .mo
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k say --no-location --omit-header --sort-output \
		-o drafter/locale/drafter.pot drafter/drafting drafter/document templates
	$(BIN)/pybabel update -D drafter -i drafter/locale/drafter.pot -d drafter/locale \
		--no-fuzzy-matching --omit-header
	$(BIN)/pybabel compile -D drafter -d drafter/locale --statistics
