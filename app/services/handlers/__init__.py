"""The database lifecycle's operation handlers: step functions on the operation engine.

One module per concern: `provisioning` (create, delete), `opsrequests` (the six types that
run one OpsRequest), `halting` (pause, resume), `update` (several changes from one PATCH, in
a fixed order), `pruning` (finished OpsRequests), and `registry` (registration and the
dependencies). What each type expects in `operation.desired_state` and which record
statuses it sets is in docs/database-operations.md.
"""
