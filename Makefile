# Rock-glacier inventory: set-up, tests, demo, benchmarks and packaging.
# Every target that needs the environment runs `setup` first; `setup` is idempotent.

SHELL := /bin/bash
PYTHON_SYSTEM ?= /usr/bin/python3
VENV ?= .venv
PY := $(VENV)/bin/python
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup test test-fast test-qgis demo bench peers package install-plugin default-model clean

setup:
	bash tools/setup.sh

test: setup
	$(PY) -m pytest tests rockglacier_plugin/core rockglacier_plugin/region training benchmarks tools

test-fast: setup
	$(PY) -m pytest tests rockglacier_plugin/core rockglacier_plugin/region training benchmarks tools -m "not slow"

# The real-QGIS tests inside a cached Debian chroot with the QGIS users run (3.40: Debian 13, 3.44: forky), NumPy 2,
# the packaged plugin zip in a fresh profile (tools/qgis_chroot.sh; needs root; about 3 minutes to build, once).
QGIS ?= 3.40
test-qgis:
	bash tools/qgis_chroot.sh $(QGIS) bash tools/test_in_chroot.sh

demo: setup
	bash tools/demo.sh

bench: setup peers
	$(PY) -m tools.bench

# The peers the benchmarks run from their own source, each in its own environment (never imported by the plugin):
# PyImageTrack (feature tracking) with the versions its pyproject asks for (requirements-peers.txt), CPU only.
peers:
	bash tools/peers.sh

package:
	$(PYTHON_SYSTEM) tools/package.py --out dist

default-model: setup
	bash tools/build_default_model.sh

install-plugin: package
	bash tools/install_plugin.sh

clean:
	rm -rf dist sample_data demo_data bench_data .pytest_cache .venv-peers
