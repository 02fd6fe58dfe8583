"""Code columns (Categorical, `schemas.base.Code`) as files hold them: text, the contract's type."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.page_cache import write_parquet
from schemas.base import ARROW_SCHEMA_KEY, as_held, as_text, file_metadata

TEXTS = st.lists(st.one_of(st.none(), st.text(min_size=0, max_size=20)), max_size=30)


def _frame(first: list, between: list, second: list) -> pl.DataFrame:
    """Two Categorical columns whose categories were numbered in any order, by other series
    too, with nulls, beside a number column."""
    a = pl.Series("a", first, dtype=pl.String).cast(pl.Categorical)
    pl.Series(between, dtype=pl.String).cast(pl.Categorical)  # numbers taken in between
    b = pl.Series("b", second, dtype=pl.String).cast(pl.Categorical)
    return pl.DataFrame([a, pl.int_range(len(first), eager=True).alias("n")]).join(
        pl.DataFrame([b, pl.int_range(len(second), eager=True).alias("n")]), on="n", how="full",
        coalesce=True)


@given(first=TEXTS, between=TEXTS, second=TEXTS, probe=st.text(max_size=20))
def test_a_file_holds_codes_as_the_texts_a_cast_gives(first, between, second, probe) -> None:
    """The file reads back as text, the values a cast gives, filtered as text (the row groups'
    statistics are the texts', not the category numbers'), and as the frame with `as_held`."""
    frame = _frame(first, between, second)
    text = frame.with_columns(pl.col("a", "b").cast(pl.String))
    assert_frame_equal(as_text(frame).collect(), text)
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "codes.parquet"
        write_parquet(frame, path)
        written = pl.read_parquet(path)
        assert written.schema == text.schema
        assert_frame_equal(written, text)
        for kept in (pl.col("a") == probe, pl.col("b") < probe, pl.col("a") >= probe):
            assert_frame_equal(pl.scan_parquet(path).filter(kept).collect(), text.filter(kept))
        assert_frame_equal(as_held(written, pl.read_parquet_metadata(path)), frame)


def test_the_files_arrow_schema_is_the_one_polars_writes_for_text(tmp_path: Path) -> None:
    """One Arrow schema in the file's footer, the one polars writes for the frame as text:
    readers going by it (polars, pyarrow) read text, whatever order the categories have."""
    frame = _frame(["Z", "A", None], ["M"], ["B", "B"])
    write_parquet(frame, tmp_path / "codes.parquet")
    write_parquet(as_text(frame).collect(), tmp_path / "text.parquet")
    ours, theirs = (pl.read_parquet_metadata(tmp_path / name)
                    for name in ("codes.parquet", "text.parquet"))
    assert ours[ARROW_SCHEMA_KEY] == theirs[ARROW_SCHEMA_KEY]
    assert (tmp_path / "codes.parquet").read_bytes().count(ARROW_SCHEMA_KEY.encode()) == 1


def test_a_frame_without_codes_is_written_as_it_is(tmp_path: Path) -> None:
    frame = pl.DataFrame({"document_no": ["D1", None], "n": [1, 2]})
    assert file_metadata(frame) == {}
    write_parquet(frame, tmp_path / "plain.parquet")
    assert ARROW_SCHEMA_KEY in pl.read_parquet_metadata(tmp_path / "plain.parquet")
    assert_frame_equal(pl.read_parquet(tmp_path / "plain.parquet"), frame)
