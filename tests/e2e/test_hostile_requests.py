"""The running process (`python -m app`) against a hostile client (issue 12): a long URL with
no key is answered promptly and never freezes the process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from tests.e2e.conftest import AppProcess

MakeApp = Callable[..., AppProcess]
DATABASES = "/api/v1/domain/acme/project/shop/databases"
# Generous for a loaded 2-core machine; the old scrubber took 7 s on this URL, and froze
# /health/live for as long.
PROMPT = 3.0


def test_a_10000_character_url_with_no_key_answers_401_promptly_and_live_stays_responsive(
    make_app: MakeApp,
) -> None:
    app = make_app().start()
    app.wait_healthy()
    long_url = f"{app.url}{DATABASES}?name={'a' * 10_000}"
    answers: list[tuple[int, float]] = []
    done = threading.Event()

    def hostile() -> None:
        began = time.monotonic()
        status = httpx.get(long_url, timeout=60).status_code
        answers.append((status, time.monotonic() - began))
        done.set()

    probes: list[float] = []
    with httpx.Client(timeout=60) as client:
        client.get(f"{app.url}/health/live")  # a warm connection for the probes
        worker = threading.Thread(target=hostile)
        worker.start()
        while not done.is_set() or len(probes) < 3:
            began = time.monotonic()
            assert client.get(f"{app.url}/health/live").status_code == 200
            probes.append(time.monotonic() - began)
            assert sum(probes) < 60, "the hostile request was not answered in a minute"
        worker.join(timeout=60)
    app.terminate()

    ((status, took),) = answers
    assert status == 401
    assert took < PROMPT, f"the long URL took {took:.2f}s"
    assert max(probes) < PROMPT, f"/health/live took {max(probes):.2f}s while it was handled"
    assert "[truncated" in app.log  # its access line is bounded
