"""The allocator setting of `pipelines/__init__.py` reaches polars (docs/benchmarks.md, run AQ)."""

import os
import subprocess
import sys

SHOW = "import {first}, polars, os; print(os.environ['_RJEM_MALLOC_CONF'])"


def _conf(first: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"} | env
    done = subprocess.run([sys.executable, "-c", SHOW.format(first=first)], env=environ,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_importing_the_dagster_wiring_keeps_freed_memory_10_s():
    # polars appends what it finds to its own defaults; jemalloc takes the last value
    assert _conf("assets").split(",")[-1] == "dirty_decay_ms:10000"
    assert _conf("pipelines.costing").split(",")[-1] == "dirty_decay_ms:10000"


def test_a_setting_of_the_user_is_left_as_it_is():
    conf = _conf("assets", _RJEM_MALLOC_CONF="dirty_decay_ms:0")
    assert conf.split(",")[-1] == "dirty_decay_ms:0"
