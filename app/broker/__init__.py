"""Redis: the embedded server of `make run` and the one async client of the process."""
