# Two entry points: `make run` starts the app, `make test` runs the suite.
# Each creates .venv on first use and installs what the project declares.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench gpu-check zoo package clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test,cluster]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	for b in bench/*.py; do QT_QPA_PLATFORM=offscreen $(BIN)/python $$b || exit 1; done

# Every GPU-relevant job kind on cuda vs cpu with the tiny zoo (docs/scale.md); without CUDA it says so.
gpu-check: $(STAMP)
	$(BIN)/python bench/gpu_check.py

# A one-folder bundle that runs without Python (dist/benchtop/) and its archive; see docs/packaging.md.
package: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[package]'
	$(BIN)/python packaging/build.py

clean-venv:
	rm -rf $(VENV)
