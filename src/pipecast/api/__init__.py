"""The REST API (FastAPI) under /api/v1, and the web dashboard mounted beside it: `create_app(settings)`.

Nothing is built at import time: `create_app` opens the store (applying migrations) when the app starts.
See docs/api.md for the endpoints, the error shape, the roles and the audit log.
"""

from pipecast.api.app import create_app
from pipecast.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
