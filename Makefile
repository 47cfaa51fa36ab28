# The two set-up commands: `make run` (demo on SQLite + the bundled Autotask simulator, a task worker and the
# scheduler; Ctrl-C stops all) and `make test`.
PYTHON ?= python3.12
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SIM_PORT ?= 8001

.PHONY: run test lint format bench venv clean

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || command -v $(PYTHON) >/dev/null || { \
	  echo "$(PYTHON) not found: install Python 3.12 (pyenv reads .python-version) or run make PYTHON=/path/to/python3.12"; \
	  exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

.env:
	$(PY) scripts/create_env.py $(SIM_PORT)

run: venv .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --once
	$(PY) scripts/run_demo.py --port $(PORT) --simulator-port $(SIM_PORT)

test: venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: venv
	$(PY) benchmarks/run.py $(BENCH_ARGS)
	$(PY) benchmarks/autotask_calls.py
	$(PY) benchmarks/mapping.py
	$(PY) benchmarks/autotask_resolution.py
	$(PY) benchmarks/autotask_tickets.py
	$(PY) benchmarks/autotask_threshold.py
	$(PY) benchmarks/pages_scale.py $(if $(BENCH_POSTGRES_URL),--postgres $(BENCH_POSTGRES_URL))
	$(PY) benchmarks/race.py  # benchmark 4: needs BENCH_POSTGRES_URL (skips without it)
	$(PY) benchmarks/autotask_bulk.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
