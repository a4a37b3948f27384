"""The live sampler's settings: one line naming the variable, and the Redis password in no
message, no `describe()` and no repr; the Dagster code location never reads them."""

import pytest

from stream_stats_dagster.config import (
    LIVE_VARIABLES,
    ConfigError,
    load_live_settings,
    shown_redis_url,
)
from tests.support.definitions import load_definitions

SECRET = "pa55-w0rd-never-shown"


def test_defaults_and_describe_without_the_password():
    s = load_live_settings({"REDIS_URL": f"rediss://sampler:{SECRET}@redis.example.com:6380/0"})
    assert (s.sample_seconds, s.rescan_samples, s.key_prefix) == (15.0, 4, "ivs:prod:")
    assert s.storage_kind == "local" and s.private_bucket == "points-system-bucket"
    line = s.describe()
    assert "rediss://sampler:***@redis.example.com:6380/0" in line
    assert SECRET not in line and SECRET not in repr(s) and SECRET not in str(s)
    assert (s.heartbeat_scan_seconds, s.fresh_seconds, s.ivs_region) == (60.0, 60.0, None)
    assert "heartbeat scan every 60 s (fresh: 60 s)" in line and "no IVS reconciliation" in line


def test_private_bucket_and_r2_follow_the_pipelines_variables():
    s = load_live_settings(
        {
            "REDIS_URL": "redis://127.0.0.1:6379",
            "STATS_BUCKET": "stats",
            "PRIVATE_BUCKET": "private",
            "R2_ENDPOINT_URL": "https://acct.r2.cloudflarestorage.com",
            "R2_ACCESS_KEY_ID": "k",
            "R2_SECRET_ACCESS_KEY": "s",
            "LIVE_SAMPLE_SECONDS": "1",
            "STREAM_STATS_TIMEZONE": "Asia/Kolkata",
        }
    )
    assert (s.private_bucket, s.storage_kind, s.sample_seconds) == ("private", "r2", 1.0)
    assert s.timezone == "Asia/Kolkata"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDIS_URL": " "}, "REDIS_URL is not set"),
        ({"REDIS_URL": f"http://u:{SECRET}@h"}, "REDIS_URL must be a redis://"),
        ({"REDIS_URL": f"redis://u:{SECRET}@h:port"}, "REDIS_URL must be a redis://"),
        ({"LIVE_SAMPLE_SECONDS": "0"}, "LIVE_SAMPLE_SECONDS must be a number"),
        ({"LIVE_SAMPLE_SECONDS": "nan"}, "LIVE_SAMPLE_SECONDS must be a number"),
        ({"LIVE_SAMPLE_SECONDS": "fast"}, "LIVE_SAMPLE_SECONDS must be a number"),
        ({"LIVE_RESCAN_SAMPLES": "0"}, "LIVE_RESCAN_SAMPLES must be an integer"),
        ({"LIVE_KEY_PREFIX": "ivs:*:"}, "LIVE_KEY_PREFIX must not hold SCAN pattern"),
        ({"STREAM_STATS_TIMEZONE": "Mars/Base"}, "STREAM_STATS_TIMEZONE 'Mars/Base'"),
        ({"R2_ACCESS_KEY_ID": "k"}, "R2 keys are set but R2_ENDPOINT_URL"),
        ({"LIVE_HEARTBEAT_SCAN_SECONDS": "0.5"}, "LIVE_HEARTBEAT_SCAN_SECONDS must be"),
        ({"LIVE_FRESH_SECONDS": "soon"}, "LIVE_FRESH_SECONDS must be"),
        ({"LIVE_IVS_SECONDS": "nan"}, "LIVE_IVS_SECONDS must be"),
        ({"LIVE_IVS_CALLS_PER_PASS": "1"}, "LIVE_IVS_CALLS_PER_PASS must be an integer"),
    ],
)
def test_bad_values_say_which_variable_in_one_line(env, message):
    env = {"REDIS_URL": f"redis://sampler:{SECRET}@127.0.0.1:6379/0", **env}
    with pytest.raises(ConfigError) as err:
        load_live_settings(env)
    text = str(err.value)
    assert text.startswith(message) and "\n" not in text and SECRET not in text


def test_shown_url_hides_passwords_in_user_part_and_query():
    assert shown_redis_url(f"redis://:{SECRET}@h:1/2") == "redis://:***@h:1/2"
    assert shown_redis_url(f"redis://h?password={SECRET}&db=1") == "redis://h?password=***&db=1"
    assert shown_redis_url("redis://h:99999") == "(a value that is not a redis:// URL)"


def test_the_code_location_never_reads_the_live_variables(monkeypatch):
    """Nonsense in every live variable: the definitions load all the same, so no Dagster
    process depends on them (the deployment tests leave them out for that reason)."""
    bad = dict.fromkeys(LIVE_VARIABLES, "*nonsense*")
    location = load_definitions(monkeypatch, STREAM_STATS_AUTOMATION="stopped", **bad)
    assert location.resolve_asset_graph().get_all_asset_keys()
