"""The operation queue: wake-ups for operations, carried by Redis Streams."""
