"""Errors every store adapter raises; driver exceptions are translated at the adapter edge.

StoreError
├── StoreUnavailable       the backend cannot be reached or timed out (temporary)
├── InvalidQuery           the backend refused the query itself (not a dependency down)
├── NotFound               no record with that id
├── Fenced                 a write carried a leader epoch older than the newest taken
└── Conflict
    ├── DuplicateName      a live database of that (domain, project, name) exists
    ├── NameTaken          another record of that kind has the name (providers)
    ├── OperationInProgress  the database already has an active operation
    └── RevisionConflict   compare-and-set lost: the record changed since it was read
"""

from __future__ import annotations


class StoreError(Exception):
    pass


class StoreUnavailable(StoreError):
    pass


class InvalidQuery(StoreError):
    """The backend answered, and refused the query (a malformed JSON path, a bad regex):
    the caller's input, never a reason to report the store as down."""


class NotFound(StoreError):
    def __init__(self, kind: str, record_id: str) -> None:
        super().__init__(f"{kind} {record_id} not found")
        self.kind = kind
        self.record_id = record_id


class Fenced(StoreError):
    """A leader-only write refused: a newer leader took the lease (and its epoch) since
    this writer took `epoch`. Nothing was written; the writer no longer leads."""

    def __init__(self, name: str, epoch: int, newest: int) -> None:
        super().__init__(f"write of {name} epoch {epoch} refused: epoch {newest} was taken")
        self.name = name
        self.epoch = epoch
        self.newest = newest


class Conflict(StoreError):
    pass


class DuplicateName(Conflict):
    def __init__(self, domain: str, project: str, name: str) -> None:
        super().__init__(f"a database named {name!r} already exists in {domain}/{project}")
        self.domain = domain
        self.project = project
        self.name = name


class NameTaken(Conflict):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"a {kind} named {name!r} already exists")
        self.kind = kind
        self.name = name


class OperationInProgress(Conflict):
    def __init__(self, database_id: str, operation_id: str) -> None:
        super().__init__(f"database {database_id} has operation {operation_id} in progress")
        self.database_id = database_id
        self.operation_id = operation_id


class RevisionConflict(Conflict):
    def __init__(self, kind: str, record_id: str, expected: int) -> None:
        super().__init__(f"{kind} {record_id} changed since revision {expected}")
        self.kind = kind
        self.record_id = record_id
        self.expected = expected
