"""Use cases: they combine the store, the queue and (later) the cluster gateway."""
