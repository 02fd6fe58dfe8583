"""Ingest's typed CSV fast path reads exactly what the text path reads, and gives way to it."""

from __future__ import annotations

from polars.testing import assert_frame_equal

from pipelines.ingest import read_input, validate_input
from tests._ingest_company import company, problems_of, tx


def test_padded_values_read_like_clean_ones(tmp_path):
    clean = company(tmp_path / "clean", tx(1, "purchase", qty="5", cost="2.5", loc="BLUE"),
                    tx(2, "sale", qty="2", loc="BLUE"))
    # " 5" parses while reading, "2.5 " does not (the text path strips it); codes are stripped
    padded = company(tmp_path / "padded",
                     tx(1, "purchase", qty=" 5", cost="2.5 ", loc=" BLUE"),
                     tx(2, "sale ", qty="2", loc="BLUE\t"))
    a, b = read_input(clean), read_input(padded)
    assert_frame_equal(a.transactions, b.transactions)
    assert b.transactions["location_code"].to_list() == ["BLUE", "BLUE"]
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
