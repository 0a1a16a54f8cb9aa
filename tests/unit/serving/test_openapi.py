"""The exported OpenAPI document is the API's: current, every body and error declared."""

from __future__ import annotations

import json

from serving.api.openapi import exported
from streams.settings import REPO_ROOT


def test_docs_openapi_json_is_current() -> None:
    assert (REPO_ROOT / "docs" / "openapi.json").read_text() == exported(), "regenerate: make openapi"


def test_every_operation_declares_its_body_auth_and_problem_responses() -> None:
    doc = json.loads(exported())
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            if method in {"post", "put"} and not path.endswith(("/close", "/approve", "/deny", "}")):
                assert "requestBody" in operation, f"{where} declares no request body"
            for status in ("401", "422", "429", "503"):
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], where
    gifts = doc["paths"]["/v1/gifts"]["post"]
    assert gifts["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GiftBody"
    }
    assert gifts["security"] == [{"bearer": []}]
    assert "security" not in doc["paths"]["/v1/payments/webhook"]["post"]
