"""Pure rules of the system: records, state machines, retry policy. No I/O, no imports of ours
outside this package."""
