"""Times on console pages: `<time>` elements in UTC that the console's script shows in the
visitor's zone, keeping the UTC value as the hover title."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from app.console.pages import when


def test_a_time_is_rendered_in_utc_with_its_iso_value_for_the_script() -> None:
    moment = datetime(2026, 12, 7, 20, 5, 9, tzinfo=timezone(timedelta(hours=2)))
    assert str(when(moment)) == (
        '<time datetime="2026-12-07T18:05:09+00:00" title="2026-12-07 18:05:09 UTC">'
        "2026-12-07 18:05:09 UTC</time>"
    )


def test_a_naive_time_is_taken_as_utc_and_a_missing_one_says_so() -> None:
    assert 'datetime="2026-01-02T03:04:05+00:00"' in str(when(datetime(2026, 1, 2, 3, 4, 5)))
    assert str(when(None)) == "never"
    assert str(when(None, "not yet <soon>")) == "not yet &lt;soon&gt;"
    assert when(datetime.now(UTC)).startswith("<time ")
