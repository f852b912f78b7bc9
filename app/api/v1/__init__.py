"""Version 1 of the HTTP API: routers only (parse, authorize, call a service, shape)."""
