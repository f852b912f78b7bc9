"""A console page left open for an hour, on the server's side: the fragments a database's
page polls, requested hundreds of times, leave the app's Redis keys and its tasks as they
were (the browser's side is in test_manners_in_a_browser.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.config.settings import Settings
from tests.console.flows import sign_in
from tests.console.test_database_actions import DATABASES, anonymous
from tests.e2e.platform import ADMIN, Platform, create, finished, running

PROJECT = DATABASES.removesuffix("/databases")
POLLS = 200  # two fragments: 400 requests, nearly seven minutes of polling every 2 s each


@pytest.fixture
async def platform(
    settings: Settings, embedded_redis_url: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with running(settings, embedded_redis_url, tmp_path) as started:
        yield started


async def keys_of(redis: aioredis.Redis, prefix: str) -> dict[str, int]:
    """Every key under the test's prefix, with its TTL in seconds (-1: none)."""
    found = {}
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        found[key.decode()] = await redis.ttl(key)
    return found


def app_tasks() -> list[str]:
    """The tasks alive in the loop the app (and the simulator) run in, by name."""
    return [t.get_name() for t in asyncio.all_tasks() if not t.done()]


def named(tasks: list[str]) -> set[str]:
    return {name for name in tasks if not name.startswith("Task-")}


async def test_hundreds_of_polls_leave_the_apps_redis_keys_and_tasks_as_they_were(
    platform: Platform, settings: Settings, embedded_redis_url: str
) -> None:
    _, api, _ = platform
    created = await create(api, engine="redis", version="8.2.2")
    await finished(api, created)
    page = f"{DATABASES}/{created.json()['id']}"
    redis = aioredis.Redis.from_url(embedded_redis_url)
    async with anonymous(api) as browser:
        await sign_in(browser, ADMIN.text)
        assert (await browser.get(page)).status_code == 200
        keys_before = await keys_of(redis, settings.redis_key_prefix)
        tasks_before = app_tasks()
        for _ in range(POLLS):
            activity = await browser.get(f"{page}/activity")
            status = await browser.get(f"{page}/status")
            assert activity.status_code == status.status_code == 200
        # htmx inserts every top-level node of an outerHTML answer: a stray whitespace text
        # node beside the fragment's elements would be left in the page at each poll.
        assert top_level_text(activity.text) == [] and top_level_text(status.text) == []
        for polled in (f"{page}/backups-section", f"{PROJECT}/operations/rows"):
            answer = await browser.get(polled)
            assert answer.status_code == 200 and top_level_text(answer.text) == [], polled
        assert activity.text.startswith('<div id="activity"')
        keys_after = await keys_of(redis, settings.redis_key_prefix)
        tasks_after = app_tasks()
    await redis.aclose()
    # Polling writes nothing. The app's workers keep keys of their own on their schedule
    # (a lease, the queue's marker) and may re-create one meanwhile; a key kept per poll
    # would add hundreds.
    added = sorted(keys_after.keys() - keys_before.keys())
    assert len(keys_after) <= len(keys_before) + 3, added
    sessions = [k for k in keys_after if ":console:session:" in k]
    assert len(sessions) == 1, sessions  # one browser, one session record
    assert 0 < keys_after[sessions[0]] <= settings.console_session_ttl  # it expires
    # The app's own tasks are named; the unnamed ones (the simulator's connections, a
    # worker's pass) come and go: a task kept per poll would add hundreds.
    assert named(tasks_after) == named(tasks_before)
    assert len(tasks_after) <= len(tasks_before) + 10, sorted(set(tasks_after) - set(tasks_before))


class _TopLevel(HTMLParser):
    """The text nodes of a fragment outside any element (void elements are not used at the
    top level of the polled fragments)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            self.text.append(data)


def top_level_text(fragment: str) -> list[str]:
    parser = _TopLevel()
    parser.feed(fragment)
    parser.close()
    return parser.text
