# make quickstart: install (CPU) and run the embedded default job.
# make test:       install (CPU) and run the test suite offline.
# make lint:       ruff (lint, format check), mypy on harness/, the import-linter contracts (pyproject.toml).
.PHONY: install quickstart test test-fast lint

OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1

.venv/.installed: pyproject.toml scripts/install-cpu.sh
	bash scripts/install-cpu.sh
	touch $@

install: .venv/.installed

quickstart: install
	$(OFFLINE) .venv/bin/harness run recipes/quickstart.yaml

test: install
	$(OFFLINE) .venv/bin/pytest -q

test-fast: install
	$(OFFLINE) .venv/bin/pytest -q -m "not integration and not slow"

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports
