"""The web dashboard: server-rendered pages in English and Chinese beside the REST API.

`pipecast.api.create_app` includes `router`; see docs/dashboard.md for the pages.
"""

from pipecast.web.pages import router

__all__ = ["router"]
