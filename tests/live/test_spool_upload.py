"""The spool and the uploads, on a local store: a cut line is dropped, an hour leaves the
spool only once its upload is verified, a stored hour is merged (never dropped), and the
same lines give the same bytes."""

from stream_stats_dagster.live.spool import Spool
from stream_stats_dagster.live.upload import UploadWorker, hour_key, upload_hour
from stream_stats_dagster.reports.live import instants
from stream_stats_dagster.reports.live.samples import HourFile
from stream_stats_dagster.storage import LocalStore
from tests.live.handmade import ARN, Moment, sample

HOUR = instants.parse("2025-03-11T01:00:00Z")
MOMENTS = [Moment(f"2025-03-11T01:00:{s:02d}Z", s, {ARN + "A": s}) for s in (0, 15, 30)]


def _spool(tmp_path) -> Spool:
    sample(tmp_path, MOMENTS, "Asia/Seoul")
    return Spool(tmp_path / "spool")


def test_a_cut_last_line_is_dropped_and_the_next_append_starts_a_line(tmp_path):
    spool = _spool(tmp_path)
    path = spool.path(HOUR)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"kind":"sample","at":"2025-03-11T01:00:4')  # killed mid-write
    assert spool.repair() == [path.name]
    assert path.read_bytes() == whole
    assert [line.kind for line in spool.lines(HOUR)].count("sample") == 3


def test_upload_verifies_then_clears_and_is_byte_stable(tmp_path):
    spool, store = _spool(tmp_path), LocalStore(str(tmp_path / "data"))
    lines = spool.path(HOUR).read_bytes()
    up = upload_hour(spool, store, "private", HOUR, "Asia/Seoul", "ivs:prod:")
    assert up.samples == 3 and not spool.path(HOUR).exists()
    body = store.get("private", hour_key(HOUR)).body
    # a sampler killed after the upload and before clearing uploads the same lines again
    spool.path(HOUR).write_bytes(lines)
    upload_hour(spool, store, "private", HOUR, "Asia/Seoul", "ivs:prod:")
    assert store.get("private", hour_key(HOUR)).body == body


def test_a_late_sample_is_merged_with_the_stored_hour(tmp_path):
    spool, store = _spool(tmp_path), LocalStore(str(tmp_path / "data"))
    upload_hour(spool, store, "private", HOUR, "Asia/Seoul", "ivs:prod:")
    sample(tmp_path / "late", [Moment("2025-03-11T01:59:59Z", 9, {ARN + "B": 9})], "Asia/Seoul")
    late = Spool(tmp_path / "late" / "spool")
    upload_hour(late, store, "private", HOUR, "Asia/Seoul", "ivs:prod:")
    hour = HourFile.model_validate_json(store.get("private", hour_key(HOUR)).body)
    assert len(hour.samples.at) == 4 and [s.stageArn for s in hour.stages] == [ARN + "A", ARN + "B"]
    assert hour.samples.viewers[0] == [0, None] and hour.samples.viewers[-1] == [None, 9]
    assert hour.problems() == []


def test_the_worker_waits_for_the_hour_to_end_on_the_redis_clock(tmp_path):
    spool, store = _spool(tmp_path), LocalStore(str(tmp_path / "data"))
    said = []
    limit = {"value": HOUR + instants.HOUR_US - 1}  # one microsecond before the hour ends
    worker = UploadWorker(
        spool, store, "private", "Asia/Seoul", "ivs:prod:", lambda: limit["value"], said.append
    )
    assert worker.pass_once() == [] and spool.path(HOUR).exists()
    limit["value"] += 1
    assert [u.hour_us for u in worker.pass_once()] == [HOUR]
    assert said and said[0].startswith("uploaded hour 2025-03-11T01:00Z: 3 samples")
