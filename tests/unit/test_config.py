import datetime as dt

import pytest

from stream_stats_dagster.config import ConfigError, load_settings


def test_defaults_use_simulator_and_local_directory():
    s = load_settings({})
    assert s.source == "simulator" and s.storage_kind == "local"
    assert (s.timezone, s.stats_bucket, s.log_bucket) == (
        "Asia/Seoul",
        "points-system-bucket",
        "logs-bucket",
    )
    assert s.start_date == dt.date(2025, 1, 1) and s.top_videos == 1000


def test_token_selects_cloudflare_and_is_never_in_repr():
    s = load_settings({"CLOUDFLARE_ACCOUNT_ID": "acc", "CLOUDFLARE_API_TOKEN": "tok-SECRET"})
    assert s.source == "cloudflare"
    assert "tok-SECRET" not in repr(s) and "tok-SECRET" not in s.describe()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CLOUDFLARE_API_TOKEN": "t"}, "CLOUDFLARE_ACCOUNT_ID is missing"),
        ({"CLOUDFLARE_ACCOUNT_ID": "a"}, "CLOUDFLARE_API_TOKEN is missing"),
        ({"R2_ACCESS_KEY_ID": "k", "R2_SECRET_ACCESS_KEY": "s"}, "R2_ENDPOINT_URL"),
        (
            {"R2_ENDPOINT_URL": "http://x", "R2_ACCESS_KEY_ID": "k"},
            "R2_SECRET_ACCESS_KEY is missing",
        ),
        (
            {"R2_ENDPOINT_URL": "http://x", "R2_ACCESS_KEY_ID": "k", "R2_SECRET_ACCESS_KEY": "s"},
            "refusing to write simulator data",
        ),
        ({"STREAM_STATS_SOURCE": "cloudflare"}, "needs CLOUDFLARE_ACCOUNT_ID"),
        ({"STREAM_STATS_SOURCE": "other"}, "must be 'cloudflare' or 'simulator'"),
        ({"STREAM_STATS_TIMEZONE": "Mars/Base"}, "not a known time zone"),
        ({"STREAM_STATS_START_DATE": "2025-13-01"}, "2025-13-01 is not a date"),
        ({"STREAM_STATS_TOP_VIDEOS": "0"}, "1..10000"),
        ({"STREAM_STATS_TOP_VIDEOS": "10001"}, "1..10000"),
        ({"STREAM_STATS_TOP_VIDEOS": "many"}, "1..10000"),
        (
            {"R2_ENDPOINT_URL": ":::", "R2_ACCESS_KEY_ID": "k", "R2_SECRET_ACCESS_KEY": "s"},
            "R2_ENDPOINT_URL must be an http(s) URL",
        ),
        (
            {"R2_ENDPOINT_URL": "ftp://k:s@h", "R2_ACCESS_KEY_ID": "k"},
            "not a value with credentials in it",
        ),
        ({"STREAM_STATS_STORAGE_PRICE": "1e20"}, "a price from 0 to 1,000,000"),
        ({"STREAM_STATS_DELIVERY_PRICE": "-1"}, "a price from 0 to 1,000,000"),
    ],
)
def test_half_set_or_bad_configuration_is_one_line_error(env, message):
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_r2_with_simulator_on_purpose_and_account_id_endpoint():
    s = load_settings(
        {
            "R2_ACCOUNT_ID": "abc",
            "R2_ACCESS_KEY_ID": "k",
            "R2_SECRET_ACCESS_KEY": "secret-value",
            "STREAM_STATS_SOURCE": "simulator",
        }
    )
    assert s.storage_kind == "r2"
    assert s.r2_endpoint_url == "https://abc.r2.cloudflarestorage.com"
    assert "secret-value" not in repr(s)


def test_start_date_is_yyyy_mm_dd_only():
    import pytest

    from stream_stats_dagster.config import ConfigError, load_settings

    for text in ("2025-W11-2", "20250311"):
        with pytest.raises(ConfigError, match="expected YYYY-MM-DD"):
            load_settings({"STREAM_STATS_START_DATE": text})


def test_values_as_written_and_the_private_bucket_following_the_stats_bucket():
    s = load_settings(
        {
            "STREAM_STATS_AUTOMATION": "STOPPED",
            "STREAM_STATS_COLD_AFTER_DAYS": " 90 ",
            "CLOUDFLARE_API_BASE_URL": "http://127.0.0.1:8787/client/v4/",
            "STATS_BUCKET": "stats",
            "LOG_BUCKET": "logs",
            "STREAM_STATS_DELIVERY_PRICE": "0.0045",
        }
    )
    assert (s.automation, s.cold_after_days) == ("stopped", 90)
    assert s.api_base_url == "http://127.0.0.1:8787/client/v4"
    assert (s.stats_bucket, s.private_bucket, s.log_bucket) == ("stats", "stats", "logs")
    assert s.delivery_price_micros == 4500
    s = load_settings({"STATS_BUCKET": "stats", "PRIVATE_BUCKET": "private"})
    assert (s.stats_bucket, s.private_bucket) == ("stats", "private")


def test_an_explicit_mapping_is_all_that_is_read(monkeypatch):
    """Given a mapping, the process's environment is not read; a blank value is unset, and a
    field's own name is no variable. A model built in code reads no variable either."""
    from stream_stats_dagster.config import Settings

    monkeypatch.setenv("STREAM_STATS_TOP_VIDEOS", "5")
    monkeypatch.setenv("R2_ENDPOINT_URL", "https://acct.r2.cloudflarestorage.com")
    s = load_settings(
        {
            "STREAM_STATS_SOURCE": "  ",
            "STATS_BUCKET": "stats",
            "PRIVATE_BUCKET": " ",
            "timezone": "UTC",
            "top_videos": "7",
        }
    )
    assert (s.source, s.storage_kind, s.top_videos) == ("simulator", "local", 1000)
    assert (s.timezone, s.private_bucket) == ("Asia/Seoul", "stats")
    built = Settings(source="simulator", local_dir="/tmp/x")
    assert (built.top_videos, built.storage_kind) == (1000, "local")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"STREAM_STATS_AUTOMATION": "paused"},
            "STREAM_STATS_AUTOMATION must be 'running' or 'stopped', not 'paused'",
        ),
        (
            {"STREAM_STATS_COLD_AFTER_DAYS": "0"},
            "STREAM_STATS_COLD_AFTER_DAYS must be an integer in 1..3650, not '0'",
        ),
        (
            {"STREAM_STATS_COLD_AFTER_DAYS": "soon"},
            "STREAM_STATS_COLD_AFTER_DAYS must be an integer in 1..3650, not 'soon'",
        ),
        (
            {"STREAM_STATS_CURRENCY": "usd"},
            "STREAM_STATS_CURRENCY must be an ISO 4217 code such as USD, not 'usd'",
        ),
        (
            {"STREAM_STATS_TIMEZONE": "Asia"},  # a directory of the zone database
            "STREAM_STATS_TIMEZONE 'Asia' is not a known time zone",
        ),
        (
            {"STREAM_STATS_STORAGE_PRICE": "1e999999"},  # overflows a decimal's exponent
            "STREAM_STATS_STORAGE_PRICE must be a price from 0 to 1,000,000 with at most "
            "6 decimals, not '1e999999'",
        ),
        (
            {"STREAM_STATS_DELIVERY_PRICE": "0.0000001"},
            "STREAM_STATS_DELIVERY_PRICE must be a price from 0 to 1,000,000 with at most "
            "6 decimals, not '0.0000001'",
        ),
        (
            {"CLOUDFLARE_API_TOKEN": "tok-SECRET", "STREAM_STATS_SOURCE": "simulator"},
            "CLOUDFLARE_API_TOKEN is set but CLOUDFLARE_ACCOUNT_ID is missing",
        ),
    ],
)
def test_each_message_names_the_variable_and_what_it_holds(env, message):
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert str(err.value) == message


def test_the_creator_key_secret_is_read_and_never_shown():
    assert load_settings({}).creator_key_secret is None
    s = load_settings({"STREAM_STATS_CREATOR_KEY_SECRET": "hmac-SECRET"})
    assert s.creator_key_secret is not None
    assert s.creator_key_secret.get_secret_value() == "hmac-SECRET"
    assert "hmac-SECRET" not in repr(s) and "hmac-SECRET" not in s.describe()
    with pytest.raises(ConfigError) as err:
        load_settings(
            {"STREAM_STATS_CREATOR_KEY_SECRET": "hmac-SECRET", "CLOUDFLARE_API_TOKEN": "t"}
        )
    assert "hmac-SECRET" not in str(err.value)
