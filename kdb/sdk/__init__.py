"""The Python SDK of kubedb-dbaas: a typed client of its HTTP API (API.md).

    from kdb.sdk import Client, errors

`Client` (client.py) holds the URL, the key and the timeouts; `databases(domain, project)`
and `operations` carry the calls; results are the models of models.py (tolerant of fields a
newer server adds); every failure is one of errors.py's tree. It imports nothing of the
server: it is what the `kdb` command line uses for all its HTTP.

`Client` is loaded on first use (PEP 562), so importing `kdb.sdk.errors` alone does not pay
for httpx and pydantic: the CLI's `--help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kdb.sdk import errors

if TYPE_CHECKING:
    from kdb.sdk.client import Client

__all__ = ["Client", "errors"]


def __getattr__(name: str) -> Any:
    if name == "Client":
        from kdb.sdk.client import Client

        return Client
    raise AttributeError(f"module 'kdb.sdk' has no attribute {name!r}")
