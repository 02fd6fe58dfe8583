"""Code columns (Categorical, `schemas.base.Code`) as files hold them: text, the contract's type."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from schemas.base import as_held, as_written

TEXTS = st.lists(st.one_of(st.none(), st.text(min_size=0, max_size=20)), max_size=30)


@given(first=TEXTS, between=TEXTS, second=TEXTS)
def test_written_codes_are_the_texts_a_cast_gives(first, between, second) -> None:
    """Each row's text is found by its category's number; categories made in any order, by
    other frames too, and nulls read back as a cast reads them."""
    a = pl.Series("a", first, dtype=pl.String).cast(pl.Categorical)
    pl.Series(between, dtype=pl.String).cast(pl.Categorical)  # numbers taken in between
    b = pl.Series("b", second, dtype=pl.String).cast(pl.Categorical)
    frame = pl.DataFrame([a, pl.int_range(len(first), eager=True).alias("n")]).join(
        pl.DataFrame([b, pl.int_range(len(second), eager=True).alias("n")]), on="n", how="full",
        coalesce=True)
    lazy, metadata = as_written(frame)
    written = lazy.collect()
    assert_frame_equal(written, frame.with_columns(pl.col("a", "b").cast(pl.String)))
    assert written.schema["a"] == written.schema["b"] == pl.String
    assert_frame_equal(as_held(written, metadata), frame)


def test_a_frame_without_codes_is_written_as_it_is() -> None:
    frame = pl.DataFrame({"document_no": ["D1", None], "n": [1, 2]})
    lazy, metadata = as_written(frame)
    assert metadata == {}
    assert_frame_equal(lazy.collect(), frame)
