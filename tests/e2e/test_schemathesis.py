"""A bounded schemathesis run over the OpenAPI document of the running app (started by
`make run`, with the embedded simulator as its cluster): every check but one (see
`bench.fuzz` for why `positive_data_acceptance` is left out) and every phase, the stateful
one included, over several seeds: no answer is a 5xx, every status code is documented for
its route, every body matches its schema. `python -m bench.fuzz` is the longer run."""

from __future__ import annotations

import pytest

from bench import fuzz

pytestmark = pytest.mark.timeout(300)


def test_generated_requests_find_no_server_error_and_no_undocumented_status() -> None:
    results = fuzz.run([20261129, 7], max_examples=3, timeout=120)

    for result in results:
        assert result.returncode == 0, f"seed {result.seed}:\n" + result.output[-6000:]
        assert "Tested" in result.output
