# Two entry points, both from nothing on a fresh machine (Debian/Ubuntu with Python 3.11+):
#   make demo   set up .venv and print the offline plan of the dev stack
#   make test   set up everything (Python packages, FRR for the BGP twin) and run lint, types and all tests
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
STACK ?= dev
# Compile bytecode at install time: with PYTHONDONTWRITEBYTECODE=1 every start would pay seconds of imports.
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: demo test setup system-deps lint typecheck unit schema bench clean

demo: setup
	$(VENV)/bin/bridgectl plan $(STACK)

test: setup system-deps lint typecheck unit

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

# uv is a single binary; without one on PATH, pip puts a pinned copy in .tools (no venv module needed).
$(TOOLS)/bin/uv:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(TOOLS) uv==$(UV_VERSION)

# FRR (bgpd, bfdd, zebra) and iproute2 (ip, tc) run the BGP twin; Graphviz draws topology diagrams.
system-deps:
	@missing=""; \
	for pair in frr:/usr/lib/frr/bgpd iproute2:/sbin/ip iproute2:/sbin/tc graphviz:/usr/bin/dot; do \
	  pkg=$${pair%%:*}; file=$${pair#*:}; [ -x "$$file" ] || case " $$missing " in *" $$pkg "*) ;; \
	    *) missing="$$missing $$pkg";; esac; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "error: install as root: apt-get install -y$$missing" >&2; exit 3; fi; \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest

schema: setup
	$(VENV)/bin/bridgectl schema -o schema/stack.schema.json

bench: setup system-deps
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .hypothesis
