# Rock-glacier inventory: set-up, tests, demo, benchmarks and packaging.
# Every target that needs the environment runs `setup` first; `setup` is idempotent.

SHELL := /bin/bash
PYTHON_SYSTEM ?= /usr/bin/python3
VENV ?= .venv
PY := $(VENV)/bin/python
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup test test-fast demo bench package install-plugin default-model clean

setup:
	bash tools/setup.sh

test: setup
	$(PY) -m pytest tests rockglacier_plugin/core rockglacier_plugin/region training benchmarks tools

test-fast: setup
	$(PY) -m pytest tests rockglacier_plugin/core rockglacier_plugin/region training benchmarks tools -m "not slow"

demo: setup
	bash tools/demo.sh

bench: setup
	$(PY) tools/bench.py

package:
	$(PYTHON_SYSTEM) tools/package.py --out dist

default-model: setup
	bash tools/build_default_model.sh

install-plugin: package
	bash tools/install_plugin.sh

clean:
	rm -rf dist sample_data demo_data bench_data .pytest_cache
