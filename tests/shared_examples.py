"""Where BC's worked examples are: ../shared/examples, or $INVREC_SHARED_EXAMPLES.

On a machine without them the tests that need them are skipped with the reason printed; CI sets
INVREC_REQUIRE_SHARED_EXAMPLES=1 (.ci/run), and there a missing folder fails those tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_EXAMPLES = Path(os.environ.get("INVREC_SHARED_EXAMPLES",
                                      Path(__file__).parents[2] / "shared" / "examples"))
needs_shared = pytest.mark.skipif(
    not SHARED_EXAMPLES.is_dir() and os.environ.get("INVREC_REQUIRE_SHARED_EXAMPLES") != "1",
    reason=f"BC's shared examples not found at {SHARED_EXAMPLES} (set INVREC_SHARED_EXAMPLES)")


def shared_case_names() -> list[str]:
    """The case folders, sorted; a placeholder when the folder is missing, so the parametrized
    tests still exist and are skipped (or, in CI, fail) by `needs_shared`."""
    if not SHARED_EXAMPLES.is_dir():
        return ["e01_fifo"]
    return sorted(p.name for p in SHARED_EXAMPLES.iterdir() if p.is_dir())
