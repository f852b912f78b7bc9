"""Creates arriving together (issue 12 verification): each is accepted, or refused for a
reason of its own (capacity), never 503 `dependency_unavailable` or 422 `invalid_query`
while the store is up and every query is the app's own."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.e2e.platform import BASE, Platform


async def test_concurrent_creates_are_accepted_or_refused_for_their_own_reason(
    platform: Platform,
) -> None:
    _, client, _ = platform

    async def create(n: int) -> tuple[int, str | None]:
        answer = await client.post(
            BASE,
            json={"name": f"burst-{n:03d}", "engine": "redis", "version": "8.2.2"},
            headers={"Idempotency-Key": f"burst-{n}"},
        )
        return answer.status_code, answer.json().get("error", {}).get("code")

    answers = Counter(await asyncio.gather(*(create(n) for n in range(40))))

    assert set(answers) <= {(202, None), (409, "insufficient_capacity")}, answers
    assert answers[(202, None)] >= 1
