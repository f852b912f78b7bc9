"""`register_database_handlers`: every database operation type on the operation engine.

    create, delete                                   provisioning.Provisioning
    scale_horizontal, scale_vertical, expand_storage,
    upgrade_version, restart, rotate_credentials     opsrequests.OpsRequestOperations
    pause, resume                                    halting.Halting
    update                                           update.Update
    backup, restore (in place)                       backups.BackupOperations

Cancel and failure hooks (the failure hook runs whenever an operation fails, also when the
engine fails it: retry limit, deadline): create (record -> failed), the OpsRequest types and
update (a not-yet-started OpsRequest is deleted, the record goes back), pause and resume
(the record follows the phase). Delete has none: a deletion under way cannot be taken back,
and a failed one stays `deleting` until a new delete finishes it.
"""

from __future__ import annotations

from app.domain import operation_kinds as kinds
from app.domain.operations import OperationType
from app.engine.registry import HandlerRegistry
from app.services.handlers.backups import BackupOperations
from app.services.handlers.changes import OPS_REQUEST_TYPES
from app.services.handlers.deps import HandlerDeps, HandlerTiming
from app.services.handlers.halting import Halting
from app.services.handlers.opsrequests import OpsRequestOperations
from app.services.handlers.provisioning import Provisioning
from app.services.handlers.update import Update

__all__ = ["DATABASE_OPERATION_TYPES", "HandlerDeps", "HandlerTiming", "register_database_handlers"]

DATABASE_OPERATION_TYPES = frozenset(
    {
        OperationType.CREATE,
        OperationType.DELETE,
        OperationType.PAUSE,
        OperationType.RESUME,
        OperationType.UPDATE,
        OperationType.BACKUP,
        OperationType.RESTORE,
        *OPS_REQUEST_TYPES,
    }
)


def register_database_handlers(registry: HandlerRegistry, deps: HandlerDeps) -> None:
    provisioning = Provisioning(deps)
    registry.register(
        kinds.CREATE,
        provisioning.create,
        on_cancel=provisioning.cancel_create,
        on_fail=provisioning.give_up_create,
    )
    registry.register(kinds.DELETE, provisioning.delete)
    ops = OpsRequestOperations(deps)
    registry.register(kinds.SCALE_HORIZONTAL, ops.step, on_cancel=ops.cancel, on_fail=ops.give_up)
    registry.register(kinds.SCALE_VERTICAL, ops.step, on_cancel=ops.cancel, on_fail=ops.give_up)
    registry.register(kinds.EXPAND_STORAGE, ops.step, on_cancel=ops.cancel, on_fail=ops.give_up)
    registry.register(kinds.UPGRADE_VERSION, ops.step, on_cancel=ops.cancel, on_fail=ops.give_up)
    registry.register(kinds.RESTART, ops.step, on_cancel=ops.cancel, on_fail=ops.give_up)
    registry.register(kinds.ROTATE_CREDENTIALS, ops.step, on_cancel=ops.cancel, on_fail=ops.give_up)
    halting = Halting(deps)
    registry.register(kinds.PAUSE, halting.pause, on_cancel=halting.cancel, on_fail=halting.give_up)
    registry.register(
        kinds.RESUME, halting.resume, on_cancel=halting.cancel, on_fail=halting.give_up
    )
    update = Update(deps)
    registry.register(kinds.UPDATE, update.step, on_cancel=update.cancel, on_fail=update.give_up)
    backups = BackupOperations(deps)
    registry.register(kinds.BACKUP, backups.backup, on_fail=backups.give_up_backup)
    registry.register(
        kinds.RESTORE,
        backups.restore,
        on_cancel=lambda ctx: backups.give_up_restore(ctx, "cancelled"),
        on_fail=backups.give_up_restore,
    )
