# make quickstart:  install (CPU) and run the embedded default job.
# make test:        install (CPU) and run the test suite offline.
# make check-wheel: build the wheel, install it in a fresh venv and run it from another folder (CI).
# make lint:        ruff (lint, format check), mypy on harness/, the import-linter contracts (pyproject.toml).
# make test-floors: the fast tests on the lowest transformers and lm-eval pyproject.toml allows
#                   (downloads them; not in CI's `make test`, run it when a floor changes).
.PHONY: install quickstart test test-fast lint check-wheel test-floors

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

check-wheel: install
	bash scripts/check-wheel.sh

test-floors: install
	bash scripts/test-floors.sh
