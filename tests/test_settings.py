"""settings.toml (contract §2): BC's defaults, accepted values, and every bad key reported."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.errors import InputError
from pipelines.settings import Settings, load_settings


def write(tmp_path, text: str):
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_absent_file_gives_the_defaults(tmp_path):
    assert load_settings(tmp_path) == Settings(
        average_cost_calc_type="item", average_cost_period="day",
        expected_cost_posting_to_gl=True, allow_posting_from=None,
        amount_rounding_precision=0.01, unit_amount_rounding_precision=0.00001,
    )


def test_values_are_read_and_extra_keys_ignored(tmp_path):
    folder = write(tmp_path, "\ufeff" + "\n".join([
        'average_cost_calc_type = "item_location_variant"',
        'average_cost_period = "accounting_period"',
        "expected_cost_posting_to_gl = false",
        'allow_posting_from = "2020-09-10"',
        "amount_rounding_precision = 1",
        "unit_amount_rounding_precision = 0.001",
        'company = "CRONUS"',
    ]))
    s = load_settings(folder)
    assert s == Settings("item_location_variant", "accounting_period", False,
                         dt.date(2020, 9, 10), 1.0, 0.001)
    assert isinstance(s.amount_rounding_precision, float)


def test_toml_date_literal(tmp_path):
    assert load_settings(write(tmp_path, "allow_posting_from = 2021-01-01\n")).allow_posting_from \
        == dt.date(2021, 1, 1)


def test_every_bad_value_is_reported(tmp_path):
    folder = write(tmp_path, "\n".join([
        'average_cost_calc_type = "location"',
        'average_cost_period = "fortnight"',
        'expected_cost_posting_to_gl = "yes"',
        "amount_rounding_precision = 0",
        'allow_posting_from = "10/09/2020"',
    ]))
    with pytest.raises(InputError) as err:
        load_settings(folder)
    assert [(p.table, p.column, p.value, p.rule) for p in err.value.problems] == [
        ("settings.toml", "average_cost_calc_type", "'location'", "invalid value"),
        ("settings.toml", "average_cost_period", "'fortnight'", "invalid value"),
        ("settings.toml", "expected_cost_posting_to_gl", "'yes'", "invalid value"),
        ("settings.toml", "amount_rounding_precision", "0", "invalid value"),
        ("settings.toml", "allow_posting_from", "10/09/2020", "must be an ISO date"),
    ]


def test_invalid_toml(tmp_path):
    with pytest.raises(InputError) as err:
        load_settings(write(tmp_path, "average_cost_period = \n"))
    [p] = err.value.problems
    assert (p.table, p.row, p.column) == ("settings.toml", None, None)
    assert p.rule.startswith("not valid TOML")


def test_a_misspelt_key_is_an_error_not_a_silent_default(tmp_path):
    """`average_cost_periods = "month"` was ignored as an extra key: every AVERAGE item was then
    costed by day (the default) without a word. Keys unlike any known one stay ignored."""
    folder = write(tmp_path, "\n".join([
        'average_cost_periods = "month"',
        'Allow_Posting_Form = "2020-09-10"',
        'company = "CRONUS"',
    ]))
    with pytest.raises(InputError) as err:
        load_settings(folder)
    assert [(p.table, p.column, p.value, p.rule) for p in err.value.problems] == [
        ("settings.toml", "average_cost_periods", "'month'",
         "unknown key: did you mean average_cost_period?"),
        ("settings.toml", "Allow_Posting_Form", "'2020-09-10'",
         "unknown key: did you mean allow_posting_from?"),
    ]
