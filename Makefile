# The README's two commands: `make run` (start the app) and `make test` (run the tests).
.PHONY: run test lint bench gpu-check

run:
	scripts/setup.sh
	.venv/bin/python -m dashboard.serve --server.address $${OMIB_ADDRESS:-127.0.0.1}

# OMIB_REQUIRE_E2E=1: a missing chromium or playwright fails the run instead of skipping the browser test.
test:
	scripts/setup.sh --dev
	.venv/bin/ruff check .
	OMIB_REQUIRE_E2E=1 .venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

# On a GPU host as it is: its python3 (or PYTHON=...), nothing installed; QUICK=1 for a short run; results in $OUT.
gpu-check:
	scripts/gpu_check.sh
