"""Ingest's typed CSV fast path reads exactly what the text path reads, and gives way to it."""

from __future__ import annotations

import pytest
from polars.testing import assert_frame_equal

from pipelines import ingest
from pipelines.ingest import read_input, validate_input
from tests._ingest_company import company, problems_of, tx


@pytest.mark.parametrize("few", [0, ingest._FEW], ids=["row by row", "by distinct values"])
def test_padded_values_read_like_clean_ones(tmp_path, monkeypatch, few):
    """Whether a text column is checked for padding row by row or on its distinct values (a
    code: few of them), its padded values are stripped."""
    monkeypatch.setattr(ingest, "_FEW", few)
    clean = company(tmp_path / "clean", tx(1, "purchase", qty="5", cost="2.5", loc="BLUE"),
                    tx(2, "sale", qty="2", loc="BLUE"))
    # " 5" parses while reading, "2.5 " does not (the text path strips it); codes are stripped
    padded = company(tmp_path / "padded",
                     tx(1, "purchase", qty=" 5", cost="2.5 ", loc=" BLUE"),
                     tx(2, "sale ", qty="2", loc="BLUE\t"))
    a, b = read_input(clean), read_input(padded)
    assert_frame_equal(a.transactions, b.transactions)
    assert b.transactions["location_code"].to_list() == ["BLUE", "BLUE"]
    assert b.transactions["type"].to_list() == ["purchase", "sale"]
    assert b.transactions["quantity"].to_list() == [5.0, 2.0]


def test_a_number_the_reader_accepts_but_the_rules_reject_is_quoted_as_written(tmp_path):
    # the CSV reader parses "Infinity" as inf; the report quotes the file, not "inf"
    folder = company(tmp_path, tx(1, "purchase", qty="Infinity", cost="1.50"),
                     tx(2, "purchase", qty="3", cost="2"))
    assert problems_of(validate_input(folder)) == [
        ("transactions", "2", "quantity", "Infinity", "not a number"),
    ]


def test_blank_codes_become_defaults_without_padding(tmp_path):
    folder = company(tmp_path, tx(1, "purchase", qty="1", cost="1", loc='""', var=""))
    t = read_input(folder).transactions
    assert t["location_code"].to_list() == [""]
    assert t["variant_code"].to_list() == [""]


def test_dates_are_parsed_as_written_and_stripped_only_when_one_does_not_parse(tmp_path):
    """A clean date parses as written; a padded one is read like it (its column stripped and
    parsed again); one that is no date is reported as written, beside the padded ones."""
    clean = company(tmp_path / "clean", tx(1, "purchase", qty="5", cost="2", date="2020-01-05"),
                    tx(2, "sale", qty="2", date="2020-01-06"))
    padded = company(tmp_path / "padded",
                     tx(1, "purchase", qty="5", cost="2", date=" 2020-01-05"),
                     tx(2, "sale", qty="2", date="2020-01-06\t"))
    assert_frame_equal(read_input(clean).transactions, read_input(padded).transactions)
    bad = company(tmp_path / "bad", tx(1, "purchase", qty="5", cost="2", date=" 2020-01-05"),
                  tx(2, "sale", qty="2", date="2020-02-30 "), tx(3, "sale", qty="1", date=""))
    assert problems_of(validate_input(bad)) == [
        ("transactions", "3", "posting_date", "2020-02-30 ", "not a date (YYYY-MM-DD)"),
        ("transactions", "4", "posting_date", None, "value required"),
    ]
