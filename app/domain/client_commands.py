"""The ready-to-paste shell command that opens an engine's own client on a database:
`psql`, `redis-cli`, `mysql`, `mariadb` or `mongosh`, from its connection details.

Every value that comes from the cluster or the user (host, user, password, database, the
connection string) is quoted for a POSIX shell (`shlex.quote`), so a password holding `$`,
`'`, `;` or a space pastes as itself. Pure: the caller reads the credentials; this module must
not, and must not log what it builds.
"""

from __future__ import annotations

from shlex import quote

from app.domain import engines
from app.domain.engines import Engine
from app.domain.manifests.connection import ConnectionInfo


def client_command(engine: Engine | str, info: ConnectionInfo) -> str:
    """The command line for `engine`'s client, secrets included (show it only to a caller
    who may read the credentials)."""
    spec = engines.spec(engine)
    host, port, user, password = quote(info.host), info.port, quote(info.username), info.password
    if spec.engine is Engine.POSTGRES:
        database = f" -d {quote(info.database)}" if info.database else ""
        return f"PGPASSWORD={quote(password)} psql -h {host} -p {port} -U {user}{database}"
    if spec.engine is Engine.REDIS:
        database = f" -n {quote(info.database)}" if info.database else ""
        return (
            f"REDISCLI_AUTH={quote(password)} redis-cli -h {host} -p {port} --user {user}{database}"
        )
    if spec.engine in (Engine.MYSQL, Engine.MARIADB):
        client = spec.engine.value  # `mysql` and `mariadb` are both the clients' names
        return f"{client} -h {host} -P {port} -u {user} --password={quote(password)}"
    return f"mongosh {quote(info.connection_string)}"
