"""The `kdb` (and `kubedb-dbaas`) command: its root, and the one boundary where every failure
becomes one line on stderr and an exit code, never a traceback.

Start-up is kept short (`kdb --help` under 300 ms, bench/cli_startup.py): this module and
the command modules import only Click at the top; Rich, httpx, pydantic and PyYAML are
imported inside the commands that use them.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import NoReturn

import click

from kdb import __version__
from kdb.cli import (
    backup_commands,
    completion,
    config_commands,
    connect,
    db_actions,
    db_commands,
    db_status,
    key_commands,
    op_commands,
    provider_commands,
    restore_commands,
    storage_commands,
    tenant_commands,
)
from kdb.cli.context import CliError, common

EXIT_CODES = """\b
Exit codes:
  0  done
  1  an operation failed or timed out, or another failure (the API unreachable,
     a client not installed for `db connect`)
  2  usage: bad flags or arguments, or input the API refused (400, 422)
  3  not found (404)
  4  conflict: an operation in progress, a name taken, deletion protection (409, 412)
  5  authentication or authorization: no key, a bad or revoked key, a weak role (401, 403)
"""

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="kdb")
@common
def cli() -> None:
    """kdb: the command line of kubedb-dbaas (databases on Kubernetes through its API).

    Start with `kdb login --url URL --domain D --project P`; then `kdb db create`, `kdb db
    list`, `kdb db connect`. Settings come from flags, then the KDB_URL, KDB_API_KEY,
    KDB_DOMAIN, KDB_PROJECT, KDB_PROFILE variables, then the profile saved by login.
    """


cli.add_command(config_commands.login)
cli.add_command(config_commands.config_group)
cli.add_command(db_commands.db)
cli.add_command(op_commands.op)
cli.add_command(op_commands.versions)
cli.add_command(op_commands.sizes)
cli.add_command(provider_commands.provider)
cli.add_command(tenant_commands.quota)
cli.add_command(tenant_commands.audit)
cli.add_command(key_commands.key)
cli.add_command(completion.completion)
cli.add_command(backup_commands.backup)
cli.add_command(backup_commands.restore_window)
cli.add_command(restore_commands.restore)
cli.add_command(restore_commands.clone)
cli.add_command(storage_commands.backup_storage)
# db_actions, db_status and connect add their commands to `db` when imported.
assert db_actions and db_status and connect

_EXIT_BY_STATUS = {400: 2, 422: 2, 401: 5, 403: 5, 404: 3, 409: 4, 412: 4}


def exit_code(error: Exception) -> int:
    """The exit code of an SDK error (see EXIT_CODES)."""
    status = getattr(error, "status", None)
    return _EXIT_BY_STATUS.get(status, 1) if isinstance(status, int) else 1


def fail(code: str, message: str, exit_with: int) -> NoReturn:
    click.echo(f"error: {code}: {message}", err=True)
    sys.exit(exit_with)


def main(argv: list[str] | None = None) -> NoReturn:
    from kdb.cli.config import ConfigError
    from kdb.sdk.errors import KdbError

    try:
        result = cli.main(args=argv, prog_name="kdb", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e), err=True)
        sys.exit(2)
    except click.UsageError as e:
        fail("usage", " ".join(e.format_message().split()), 2)
    except click.ClickException as e:
        fail("usage", e.format_message(), e.exit_code)
    except click.Abort:
        fail("interrupted", "stopped by the user", 130)
    except CliError as e:
        fail(e.code, e.message, e.exit_code)
    except ConfigError as e:
        fail("bad_config", str(e), 2)
    except KdbError as e:
        fail(e.code, e.message, exit_code(e))
    except Exception as e:  # the boundary: one line, the traceback only when asked for
        if os.environ.get("KDB_DEBUG"):
            traceback.print_exc()
        fail("internal", f"{type(e).__name__}: {e} (KDB_DEBUG=1 shows the traceback)", 1)
    sys.exit(result if isinstance(result, int) else 0)
