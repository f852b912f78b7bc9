"""Background components: leader election, operation workers, reconciliation, status sync."""
