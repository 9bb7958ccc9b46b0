"""One router per resource, each mounted under /api/v1 by `pipecast.api.app.create_app`."""
