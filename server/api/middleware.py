"""Every error under /api/ is JSON (docs/design.md, "The contract"), whoever made it.

Views answer their own errors with `{"error": ...}`; this covers the ones Django makes before or
around a view, such as the 405 of `require_safe`/`require_POST`.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from server.errors import is_api


class JsonErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            is_api(request)
            and response.status_code >= 400
            and not response.streaming
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            response.content = json.dumps({"error": response.reason_phrase})
            response["Content-Type"] = "application/json"
            response["Content-Length"] = str(len(response.content))
        return response
