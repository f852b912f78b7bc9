"""HTTP layer: routers parse, authorize, call a service and shape the response."""
