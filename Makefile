# Every target builds or refreshes the local virtual environment from requirements.txt first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
SCENARIO ?=

.PHONY: venv test sim bench lint check build deploy repl clean

BOARD ?= pico

venv: $(STAMP)

$(STAMP): requirements.txt
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

test: venv
	$(PY) -m pytest host_tests

# make sim: the board's whole firmware in the terminal (tools/termsim.py --firmware BOARD);
# make sim SCENARIO=file: a scenario, headless
sim: venv
ifeq ($(SCENARIO),)
	$(PY) tools/termsim.py --firmware $(BOARD)
else
	$(PY) tools/pumpsim.py $(SCENARIO)
endif

bench: venv
	$(PY) tools/bench.py

check: lint
	$(PY) tools/check.py

build: venv
	$(PY) tools/build.py $(BOARD)

deploy: build
	$(PY) tools/deploy.py $(BOARD) $(if $(PORT),--port $(PORT))

repl: venv
	$(PY) tools/deploy.py $(BOARD) --repl $(if $(PORT),--port $(PORT))

lint: venv
	$(VENV)/bin/ruff check firmware boards host_tests tools
	$(VENV)/bin/ruff format --check firmware boards host_tests tools

clean:
	rm -rf build $(VENV)
