"""Where a database's cluster objects live: one Kubernetes namespace per project.

The namespace of every database of project `p` in domain `d` is `<d>-<p>`. Both parts are
DNS-1123 labels (the API checks them), so the joined name is one too, unless it is longer
than 63 characters: then it is cut to leave room for `-<hash>`, six hex characters of the
SHA-256 of the uncut name, which keeps two long names that share a prefix apart. The rule
is deterministic, so a re-run step, the reconciler and the credentials endpoint all find
the same namespace; the create step also stores it on the record (`Database.namespace`),
and everything after creation reads it from there. See docs/placement.md.

This module must not read anything: which cluster a database goes to is not its business.
"""

from __future__ import annotations

import hashlib

from app.domain import validation

MAX_NAMESPACE_LENGTH = 63
_HASH_LENGTH = 6


def namespace_for(domain: str, project: str) -> str:
    """The namespace of a project's databases: `<domain>-<project>`, cut and hashed past 63."""
    validation.check_dns_label(domain, field="domain")
    validation.check_dns_label(project, field="project")
    full = f"{domain}-{project}"
    if len(full) <= MAX_NAMESPACE_LENGTH:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
    head = full[: MAX_NAMESPACE_LENGTH - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest}"
