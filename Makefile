# Entry points with fixed names: docs, CI and tools rely on them.
PYTHON ?= python3

.PHONY: vendor build demo test bench conformance clean

vendor:
	$(PYTHON) tools/vendor-mitogen

build: vendor
	$(PYTHON) tools/devenv.py build

demo: vendor
	$(PYTHON) tools/demo.py

test: vendor
	$(PYTHON) tools/run-tests

bench: vendor
	$(PYTHON) bench/run.py $(if $(FULL),--full,)

conformance: vendor
	$(PYTHON) tools/conformance.py

clean:
	rm -rf build .cache/stage tests/output
