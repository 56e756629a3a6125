"""Errors under /api/ are JSON with a fitting status, even those Django makes itself."""

import json


def test_wrong_method_on_a_read_only_api_url_is_a_json_405(server):
    response = server.request("/api/folders", method="POST", body=b"{}")
    assert response.status == 405
    assert response.header("Content-Type") == "application/json"
    assert json.loads(response.body) == {"error": "Method Not Allowed"}
    assert "GET" in response.header("Allow")


def test_get_on_the_progress_api_is_a_json_405(server):
    response = server.request("/api/progress")
    assert response.status == 405
    assert json.loads(response.body)["error"]


def test_unknown_api_url_is_a_json_404(server):
    response = server.request("/api/nothing-here")
    assert response.status == 404
    assert "error" in json.loads(response.body)
