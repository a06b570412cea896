# Two commands on a fresh machine: `make tui` (set up, open the dashboard on the demo)
# and `make test` (set up, run the tests). Everything else is a convenience.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# constraints.txt pins torch to the CPU build that lies on this machine's disk, so set-up and CI
# never pull a multi-GB CUDA build; pyproject.toml still admits newer torch for users.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

.PHONY: setup tui test test-slow test-all lint bench clean
setup: $(STAMP)

tui: $(STAMP)
	$(BIN)/hrm tui

test: $(STAMP)
	$(BIN)/python -m pytest -q --cov=hrm --cov-report=term $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m '' --cov=hrm --cov-report=term $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check hrm hrm_tui tests bench

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage htmlcov
