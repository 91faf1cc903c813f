"""The web page: server-rendered HTML (Jinja2) over the service, with its assets in the package.

`router()` gives the routes; `qa.api.app.create_app` includes them.
"""

from qa.web.routes import PAGE_CSP, router

__all__ = ["PAGE_CSP", "router"]
