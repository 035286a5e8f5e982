# Two commands matter: `make book` and `make test`. Both set up .venv on first use.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BUILD  := _build
CACHE_STAMP := $(BUILD)/.requirements.sha256

.PHONY: help venv book book-student test test-fast lint lab notebooks bench clean check-python pdf check-latex tex-packages system-packages torch dist

PDF_DIR  := $(BUILD)/pdf
PDF_NAME := softmax-cross-entropy-kl.pdf
# Debian packages: the one list (CI installs them; error messages and the README name them from here).
TEX_PACKAGES := texlive-latex-extra texlive-fonts-recommended texlive-latex-recommended tex-gyre latexmk poppler-utils
BROWSER_PACKAGES := chromium
BUILD_BOOK := $(BIN)/python tools/build_book.py
# Tests that need no book build, browser, LaTeX or notebook execution.
FAST := -m "not build and not browser and not pdf and not notebooks"

help:
	@echo "make book   build the HTML book into $(BUILD)/html"
	@echo "make book-student   the book without the exercises' solutions, into $(BUILD)/student/_build/html"
	@echo "make test   run every test: ce_lib, doctests, notebooks (nbval), strict build, browser"
	@echo "make test-fast   ce_lib's unit, property and doctest suites only (no build, browser, PDF or notebooks)"
	@echo "make pdf    build the PDF edition into $(PDF_DIR)/$(PDF_NAME), and one PDF per chapter into $(PDF_DIR)/chapters (needs LaTeX)"
	@echo "make lab    open the chapters in JupyterLab, in the project's environment"
	@echo "make notebooks   re-execute every chapter notebook in place (for authors)"
	@echo "make bench  run the benchmarks"
	@echo "make torch  install the optional PyTorch extra for the parity tests"
	@echo "make dist   build ce_lib's wheel and sdist into dist/ and check them with twine"
	@echo "make lint   ruff check, ruff format --check (tools/chapters.py format fixes the chapters) and mypy --strict ce_lib"
	@echo "make tex-packages   print the Debian packages the PDF edition needs"

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: Python 3.11 or newer is needed as '$(PYTHON)'." >&2; \
	  echo "       Install it (Debian/Ubuntu: apt-get install python3 python3-venv), or run make PYTHON=/path/to/python3.11 ..." >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  echo "error: Python's venv module (with ensurepip) is missing." >&2; \
	  echo "       Install it (Debian/Ubuntu: apt-get install python3-venv)." >&2; \
	  exit 1; }

$(STAMP): requirements.txt requirements-reader.txt pyproject.toml | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

venv: $(STAMP)

# jupyter-cache keys on notebook code only: drop the cache when the pinned dependencies change.
$(CACHE_STAMP): requirements.txt requirements-reader.txt
	rm -rf $(BUILD)/.jupyter_cache
	mkdir -p $(BUILD)
	sha256sum requirements.txt requirements-reader.txt > $@

check-latex:
	@for tool in pdflatex latexmk kpsewhich; do command -v $$tool >/dev/null || { \
	  echo "error: '$$tool' not found: the PDF edition needs LaTeX." >&2; \
	  echo "       Install it (Debian/Ubuntu): apt-get install $(TEX_PACKAGES)" >&2; exit 1; }; done
	@kpsewhich tgtermes.sty >/dev/null || { \
	  echo "error: LaTeX is installed but tgtermes.sty (TeX Gyre fonts) is missing." >&2; \
	  echo "       Install (Debian/Ubuntu): apt-get install $(TEX_PACKAGES)" >&2; exit 1; }

pdf: check-latex $(STAMP) $(CACHE_STAMP)
	$(BUILD_BOOK) pdflatex
	mkdir -p $(PDF_DIR)
	cp $(BUILD)/latex/book.pdf $(PDF_DIR)/$(PDF_NAME)
	rm -rf $(PDF_DIR)/chapters && mkdir -p $(PDF_DIR)/chapters
	for f in $(BUILD)/latex/chapter-*.pdf; do cp "$$f" "$(PDF_DIR)/chapters/$$(basename "$$f" | sed 's/^chapter-//')"; done
	@echo "The PDF edition is at $(CURDIR)/$(PDF_DIR)/$(PDF_NAME), one PDF per chapter in $(PDF_DIR)/chapters/"

# The student edition: every exercise, no solution (book/_ext/student_edition.py).
book-student: $(STAMP) $(CACHE_STAMP)
	mkdir -p $(PDF_DIR)
	CE_STUDENT_EDITION=1 $(BUILD_BOOK) html --path-output $(BUILD)/student
	@echo "The student edition is at $(CURDIR)/$(BUILD)/student/_build/html/index.html"

# ce_lib's wheel and sdist (the version comes from ce_lib/_version.py); the book offers the wheel for download.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/python -m twine check --strict dist/*
	mkdir -p $(BUILD)/dist && rm -f $(BUILD)/dist/*.whl && cp dist/*.whl $(BUILD)/dist/

# The HTML links to the PDF edition: build it first where LaTeX is installed.
book: $(STAMP) $(CACHE_STAMP) dist
	mkdir -p $(PDF_DIR)
	@if $(MAKE) --no-print-directory -s check-latex 2>/dev/null; then $(MAKE) --no-print-directory pdf; \
	 else echo "note: LaTeX not found, so the HTML will link to a PDF that was not built (apt-get install $(TEX_PACKAGES))"; fi
	$(BUILD_BOOK) html
	@echo
	@echo "The book is at $(CURDIR)/$(BUILD)/html/index.html"

CFF_VENV := .venv-cff
CFF_STAMP := $(CFF_VENV)/.installed

# cffconvert pins jsonschema<4, which the book's tools cannot share: it gets its own environment.
$(CFF_STAMP): requirements-cff.txt | check-python
	test -x $(CFF_VENV)/bin/python || $(PYTHON) -m venv $(CFF_VENV)
	$(CFF_VENV)/bin/python -m pip install --quiet -r requirements-cff.txt
	touch $@

test: $(STAMP) $(CACHE_STAMP) $(CFF_STAMP) lint
	mkdir -p $(PDF_DIR)
	$(BIN)/python -m pytest

test-fast: $(STAMP) lint
	$(BIN)/python -m pytest $(FAST) tests ce_lib

# ruff over the library, the tests, the tools and the chapters' code (the executed notebooks hold it, cell by cell);
# mypy in strict mode over ce_lib
lint: $(STAMP)
	$(BIN)/ruff check ce_lib tests tools book
	$(BIN)/ruff format --check ce_lib tests tools book
	$(BIN)/mypy --strict ce_lib

tex-packages:
	@echo $(TEX_PACKAGES)

system-packages:
	@echo $(BROWSER_PACKAGES) $(TEX_PACKAGES)

# The optional PyTorch extra, pinned once in pyproject.toml.
torch: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[torch]"

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=book

# Regenerate each chapter's executed notebook from its MyST source (only changed files are rewritten).
notebooks: $(STAMP)
	$(BIN)/python tools/chapters.py execute

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(BUILD) .pytest_cache .hypothesis .mypy_cache .ruff_cache dist build
