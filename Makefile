# Two commands matter: `make book` and `make test`. Both set up .venv on first use.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two environments in one venv: what `make book` needs (requirements-book.txt), and everything (requirements.txt).
BOOK_STAMP := $(VENV)/.installed-book
STAMP  := $(VENV)/.installed
BUILD  := _build
# Every transitive dependency pinned (make lock regenerates it); installs use it as constraints.
LOCK   := requirements.lock
# uv installs the pinned requirements (pip took 60-90 s for them, uv takes about 10 s); it is itself pinned in
# requirements-book.txt and bootstrapped with pip. torch, the optional extra, is installed with pip (see torch:).
UV_PIN := $(shell grep -m1 '^uv==' requirements-book.txt)
UV     := $(BIN)/uv pip install --quiet -c $(LOCK)
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(LOCK)

.PHONY: reader-env help venv book book-student test test-fast lint lab lock notebooks bench clean check-python pdf check-latex tex-packages system-packages torch dist wheel

PDF_DIR  := $(BUILD)/pdf
PDF_NAME := softmax-cross-entropy-kl.pdf
# Debian packages: the one list (CI installs them; error messages and the README name them from here).
TEX_PACKAGES := texlive-latex-extra texlive-fonts-recommended texlive-latex-recommended tex-gyre latexmk poppler-utils
BROWSER_PACKAGES := chromium
BUILD_BOOK := $(BIN)/python tools/build_book.py
TEST_WORKERS ?= 4
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
	@echo "make lock   regenerate requirements.lock (every transitive pin) from requirements.txt with uv"
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

$(BOOK_STAMP): requirements-book.txt requirements-reader.txt $(LOCK) pyproject.toml | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(UV_PIN)"
	$(UV) --python $(BIN)/python -r requirements-book.txt
	$(UV) --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

$(STAMP): requirements.txt $(BOOK_STAMP)
	$(UV) --python $(BIN)/python -r requirements.txt
	touch $@

venv: $(STAMP)

# The lock: uv resolves requirements.txt for Python 3.11 (the oldest the project supports).
# (It needs only uv: installing the environment first would apply the old lock to the new pins.)
lock: | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(UV_PIN)"
	$(BIN)/uv pip compile requirements.txt -o $(LOCK) --python-version 3.11 --custom-compile-command "make lock" --quiet

check-latex:
	@for tool in pdflatex latexmk kpsewhich; do command -v $$tool >/dev/null || { \
	  echo "error: '$$tool' not found: the PDF edition needs LaTeX." >&2; \
	  echo "       Install it (Debian/Ubuntu): apt-get install $(TEX_PACKAGES)" >&2; exit 1; }; done
	@kpsewhich tgtermes.sty >/dev/null || { \
	  echo "error: LaTeX is installed but tgtermes.sty (TeX Gyre fonts) is missing." >&2; \
	  echo "       Install (Debian/Ubuntu): apt-get install $(TEX_PACKAGES)" >&2; exit 1; }

pdf: check-latex $(BOOK_STAMP)
	$(BUILD_BOOK) pdflatex
	mkdir -p $(PDF_DIR)
	cp $(BUILD)/latex/book.pdf $(PDF_DIR)/$(PDF_NAME)
	rm -rf $(PDF_DIR)/chapters && mkdir -p $(PDF_DIR)/chapters
	for f in $(BUILD)/latex/chapter-*.pdf; do cp "$$f" "$(PDF_DIR)/chapters/$$(basename "$$f" | sed 's/^chapter-//')"; done
	@echo "The PDF edition is at $(CURDIR)/$(PDF_DIR)/$(PDF_NAME), one PDF per chapter in $(PDF_DIR)/chapters/"

# The student edition: every exercise, no solution (book/_ext/student_edition.py).
book-student: $(BOOK_STAMP)
	mkdir -p $(PDF_DIR)
	CE_STUDENT_EDITION=1 $(BUILD_BOOK) html --path-output $(BUILD)/student
	@echo "The student edition is at $(CURDIR)/$(BUILD)/student/_build/html/index.html"

# ce_lib's wheel (the version comes from ce_lib/_version.py); the book offers it for download.
wheel: $(BOOK_STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --wheel --outdir dist .
	mkdir -p $(BUILD)/dist && rm -f $(BUILD)/dist/*.whl && cp dist/*.whl $(BUILD)/dist/

# The wheel and the sdist, checked with twine.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/python -m twine check --strict dist/*
	mkdir -p $(BUILD)/dist && rm -f $(BUILD)/dist/*.whl && cp dist/*.whl $(BUILD)/dist/

# The HTML links to the PDF edition: build it first where LaTeX is installed.
book: $(BOOK_STAMP) wheel
	mkdir -p $(PDF_DIR)
	@if $(MAKE) --no-print-directory -s check-latex 2>/dev/null; then $(MAKE) --no-print-directory pdf; \
	 else echo "note: LaTeX not found, so the book is built without its PDF edition (the preface says how to add it: apt-get install $(TEX_PACKAGES))"; fi
	$(BUILD_BOOK) html
	@echo
	@echo "The book is at $(CURDIR)/$(BUILD)/html/index.html"

CFF_VENV := .venv-cff
CFF_STAMP := $(CFF_VENV)/.installed

# cffconvert pins jsonschema<4, which the book's tools cannot share: it gets its own environment.
$(CFF_STAMP): requirements-cff.txt | check-python $(BOOK_STAMP)
	test -x $(CFF_VENV)/bin/python || $(PYTHON) -m venv $(CFF_VENV)
	$(BIN)/uv pip install --quiet --python $(CFF_VENV)/bin/python -r requirements-cff.txt
	touch $@

READER_VENV := .venv-reader
# The reader's environment (tools/reader_env.py): requirements-reader.txt under the lock, and the wheel of this checkout.
reader-env: $(STAMP)
	$(BIN)/python tools/reader_env.py install $(READER_VENV)

# Every chapter is executed once: nbval re-runs a copy of each committed notebook, alone in a folder
# outside the repository, in the reader's environment, and compares its outputs.
# pytest-xdist spreads the tests over the cores; each notebook's cells, and the builds with the tests
# that read them, stay on one worker (tests/conftest.py). The slowest 25 are listed.
# Lint, the citation checker's environment and the reader's environment are made side by side first.
test: $(STAMP)
	$(MAKE) --no-print-directory -j3 lint $(CFF_STAMP) reader-env
	outside="$$(mktemp -d)"; status=0; \
	$(BIN)/python tools/reader_env.py copy "$$outside" && \
	JUPYTER_PATH="$(CURDIR)/$(READER_VENV)/share/jupyter" CE_READER_NOTEBOOKS="$$outside" \
	  $(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=25 --nbval-kernel-name ce-reader \
	  tests ce_lib book/_ext "$$outside" || status=$$?; rm -rf "$$outside"; exit $$status

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

# The optional PyTorch extra, pinned once in pyproject.toml (outside the lock; its own dependencies are constrained by it).
torch: $(STAMP)
	$(PIP) --no-build-isolation -e ".[torch]"

# JupyterLab on the chapters' MyST sources: they open as notebooks, and the generated .ipynb files are hidden,
# so an author cannot edit one by mistake (tools/lab.py).
lab: $(STAMP)
	$(BIN)/python tools/lab.py

# Regenerate each chapter's executed notebook from its MyST source (only changed files are rewritten).
notebooks: $(STAMP)
	$(BIN)/python tools/chapters.py execute

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(BUILD) $(READER_VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache dist build
