"""The time formats every wire format writes (domain/times.py), checked against the standard
library's own renderings of the same instant."""

from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from hypothesis import given
from hypothesis import strategies as st

from openvod.domain.times import http_date, iso_ms, iso_s, iso_s_or_none, iso_s_zero_ms

T = datetime(2024, 5, 1, 12, 0, 7, 123_987, tzinfo=UTC)
times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC))


def test_each_format() -> None:
    assert iso_s(T) == "2024-05-01T12:00:07Z"
    assert iso_ms(T) == "2024-05-01T12:00:07.123Z"  # truncated, not rounded
    assert iso_s_zero_ms(T) == "2024-05-01T12:00:07.000Z"
    assert http_date(T) == "Wed, 01 May 2024 12:00:07 GMT"
    assert iso_s_or_none(None) is None and iso_s_or_none(T) == iso_s(T)


def test_other_zones_are_written_in_utc_and_naive_times_are_utc() -> None:
    beijing = T.astimezone(timezone(timedelta(hours=8)))
    naive = T.replace(tzinfo=None)
    for f in (iso_s, iso_ms, iso_s_zero_ms, http_date):
        assert f(beijing) == f(T) == f(naive)


@given(times)
def test_formats_agree_with_the_standard_library(t: datetime) -> None:
    assert iso_ms(t) == t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert iso_s(t) == t.isoformat(timespec="seconds").replace("+00:00", "Z")
    assert iso_s_zero_ms(t) == iso_s(t)[:-1] + ".000Z"
    assert parsedate_to_datetime(http_date(t)) == t.replace(microsecond=0)
    assert datetime.fromisoformat(iso_ms(t)) == t.replace(microsecond=t.microsecond // 1000 * 1000)
