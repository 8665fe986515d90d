# The two commands of the README: `make demo` and `make test`. Both build .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup fonts browser clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: pip must never resolve torch itself (that would fetch a CUDA build)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[synth,serve,quant,batch,dev]'
	touch $(STAMP)

setup: $(STAMP)

fonts:
	bash scripts/install_fonts.sh

browser:
	bash scripts/install_browser.sh

demo: setup
	$(BIN)/inkreader read ../shared/data/gnhk/sample_line.jpg

lint: setup
	$(BIN)/ruff check inkreader tests bench

test: setup fonts browser lint
	$(BIN)/pytest

clean-venv:
	rm -rf $(VENV)
