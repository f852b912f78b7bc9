"""The process runtime: the supervisor, task helpers, connecting at start."""
