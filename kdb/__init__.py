"""kdb: the command-line client and Python SDK of kubedb-dbaas.

It speaks HTTP to the API only (the server package `app` is never imported: the import-linter
contract "The client imports nothing of the server or the simulator" keeps it so):

- `kdb.sdk`: the typed Python SDK (`kdb.sdk.Client`), which the CLI uses for every request;
- `kdb.cli`: the `kdb` / `kubedb-dbaas` command line, built on Click and Rich.
"""

__version__ = "0.1.0"
