"""Shell completion: `kdb completion bash|zsh|fish` prints the script to source, and the
commands that take a database name complete it from the API.

Click does the protocol: the shell runs `kdb` again with `_KDB_COMPLETE=<shell>_complete`
and the words typed so far. Database names come from the project the line resolves to
(its `--profile`, `--url`, `--domain`, `--project`, the variables, the profile), asked with
a short timeout and no retry. Completion must never disturb the shell: any failure (no
settings, the API down or slow, a refused key) offers nothing, silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kdb.cli.context import State

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_KDB_COMPLETE"
TIMEOUT = 2.0


def database_names(ctx: click.Context, incomplete: str) -> list[str]:
    """Names of the live databases of the resolved project starting with `incomplete`."""
    from kdb.sdk.client import Client
    from kdb.sdk.transport import RetryPolicy

    settings = ctx.find_root().ensure_object(State).settings
    url, key = settings.get("url"), settings.get("api_key")
    domain, project = settings.get("domain"), settings.get("project")
    if not (url and key and domain and project):
        return []
    with Client(url, key, timeout=TIMEOUT, retry=RetryPolicy(attempts=1)) as api:
        found = api.databases(domain, project).list(name=incomplete or None, page_size=100)
    return sorted(
        d.name for d in found.items if d.name.startswith(incomplete) and d.status != "deleted"
    )


def _complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    try:
        names = database_names(ctx, incomplete)
    except Exception:  # the boundary: a completion that fails offers nothing, silently
        return []
    return [CompletionItem(name) for name in names]


database_name = click.argument("name", shell_complete=_complete)


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script of SHELL.

    \b
    bash:  eval "$(kdb completion bash)"         (in ~/.bashrc)
    zsh:   eval "$(kdb completion zsh)"          (in ~/.zshrc)
    fish:  kdb completion fish > ~/.config/fish/completions/kdb.fish
    """
    from click.shell_completion import BashComplete, FishComplete, ZshComplete

    script = {"bash": BashComplete, "zsh": ZshComplete, "fish": FishComplete}[shell]
    root = click.get_current_context().find_root().command
    click.echo(script(root, {}, "kdb", COMPLETE_VAR).source())
