from pathlib import Path

import pytest

from monitor.cli import EXAMPLE_CONFIG
from monitor.config import ConfigError, load_config

MINIMAL = '[[business]]\nname = "Hansen VVS ApS"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return str(raised.value)


def test_example_config_is_valid():
    config = load_config(EXAMPLE_CONFIG)
    business = config.business[0]
    assert business.name == "Hansen VVS ApS"
    assert [s.kind for s in business.source] == ["trustpilot", "schemaorg", "feed"]
    assert business.jobs_columns["Ordrenr."] == "job_id"
    assert business.thresholds.follow_up_days_by_job_type == {"badeværelse": 30}


def test_defaults_fill_what_is_left_out(tmp_path):
    business = load_config(write(tmp_path, MINIMAL)).business[0]
    assert (business.country, business.languages) == ("DK", ["da", "en"])
    assert business.thresholds.reply_deadline_hours == 48
    assert business.thresholds.pattern_window_days == 90
    assert business.thresholds.pattern_min_count == 3
    assert business.thresholds.follow_up_days == 14


def test_missing_file_gives_defaults_unless_required(tmp_path):
    assert load_config(tmp_path / "absent.toml").business == []
    with pytest.raises(ConfigError, match=r"absent.toml: file not found"):
        load_config(tmp_path / "absent.toml", required=True)


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path):
    message = error_for(tmp_path, MINIMAL + "[business.thresholds]\nreply_deadline = 24\n")
    assert message == (
        f"{tmp_path / 'monitor.toml'}: invalid configuration:\n"
        "  business[0].thresholds.reply_deadline: unknown key, expected one of: complaint_max_rating, "
        "reply_deadline_hours, pattern_window_days, pattern_min_count, pattern_max_p_value, "
        "follow_up_days, follow_up_days_by_job_type, warranty_days, burst_window_days, burst_min_count, "
        "match_threshold, match_margin"
    )


def test_wrong_type_names_key_expectation_and_value(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[business.thresholds]\nreply_deadline_hours = "two days"\n')
    assert message.endswith(
        "business[0].thresholds.reply_deadline_hours: expected input should be a valid integer, "
        "unable to parse string as an integer, got 'two days'"
    )


def test_missing_required_field(tmp_path):
    message = error_for(tmp_path, '[[business]]\ncountry = "DK"\n')
    assert message.endswith("business[0].name: missing required key")


def test_bad_source_kind_and_url(tmp_path):
    message = error_for(
        tmp_path,
        MINIMAL + '[[business.source]]\nkind = "facebook"\nurl = "dk.trustpilot.com/review/x"\n',
    )
    assert "business[0].source[0].kind: expected input should be 'trustpilot', 'schemaorg' or 'feed', got 'facebook'" in message
    assert "business[0].source[0].url: expected string should match pattern" in message


def test_job_column_must_map_to_a_known_field(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[business.jobs_columns]\n"Kunde" = "client"\n')
    assert "business[0].jobs_columns: column 'Kunde' maps to 'client', expected one of: job_id, customer_name" in message


def test_invalid_toml_reports_line(tmp_path):
    message = error_for(tmp_path, '[[business]]\nname = "Hansen\n')
    assert message.startswith(f"{tmp_path / 'monitor.toml'}: invalid TOML: ")
    assert "line 2" in message


def test_duplicate_business_names(tmp_path):
    message = error_for(tmp_path, MINIMAL + MINIMAL)
    assert message.endswith("business: name 'hansen vvs aps' is used twice, expected unique names")


def test_find_business_by_name_or_alias(tmp_path):
    config = load_config(EXAMPLE_CONFIG)
    assert config.find_business("hansen vvs").name == "Hansen VVS ApS"
    assert config.find_business("HANSEN-VVS.DK").name == "Hansen VVS ApS"
    assert config.find_business("Jensen El") is None
