"""the url prefixes that are not dashboard pages.

machine-facing routes (the api, the auth api, the tag's public endpoints), probes, scrapes, the openapi schema
and static files: they carry no session cookie, need no csrf token (they authenticate by bearer token, api key
or site key, or change nothing), and answer errors as problem+json rather than a page, whatever the Accept
header says.
"""

from __future__ import annotations

NOT_PAGES = ("/api/", "/auth/", "/p/", "/t/", "/static/", "/healthz", "/readyz", "/metrics", "/schema")
