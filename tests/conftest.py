"""Hypothesis profiles, chosen by HYPOTHESIS_PROFILE.

- default: fresh random histories on every run (what a developer runs; a failure found is kept
  in .hypothesis/ and replayed first), so running the suite again explores further;
- ci: the same examples on every machine (derandomize), so `.ci/run` judges a commit on exactly
  the histories that were checked before it was committed.
"""

import os

from hypothesis import settings

# no deadline: an example's time says nothing about its correctness, and on a loaded machine
# (a benchmark beside the suite) the default 200 ms failed sound tests
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
