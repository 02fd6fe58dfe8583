# The two commands of the README. Both install everything they need on a fresh machine that has
# Python 3.11 and pip: uv (pinned) into .tools/, then the locked environment into .venv/.
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)

.PHONY: run test lint setup

.tools/bin/uv:
	python3 -m pip install --quiet --disable-pip-version-check --target .tools uv==$(UV_VERSION)

# --compile-bytecode: the packages' bytecode written once here, not compiled anew by every
# process where PYTHONDONTWRITEBYTECODE is set (as on our machines: 2.8 s of each `invrec run`)
setup: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --quiet --compile-bytecode

run: setup  ## the main job on the bundled sample company
	$(UV) run invrec run --data data/sample --out out/sample

test: setup  ## the whole test suite, one worker per core (pytest-xdist)
	$(UV) run pytest -n auto

lint: setup
	$(UV) run ruff check pipelines assets schemas tests scripts
