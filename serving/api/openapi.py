"""The API's OpenAPI document as clients see it: every request body (also those a route reads
raw, to hash it for Idempotency-Key) and every error as problem+json. Bearer authentication is
declared by FastAPI itself, on exactly the routes that depend on the principal.

``python -m serving.api.openapi`` prints it; ``make openapi`` writes ``docs/openapi.json``, which
a test keeps current and schemathesis fuzzes against the running API.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

REF = "#/components/schemas/{model}"
# Routes that read their body raw (to hash it for Idempotency-Key, or to check a signature over
# it) declare its model here instead of in their signature.
RAW_BODIES: dict[str, type[BaseModel]] = {}
PUBLIC = {
    "/healthz",
    "/readyz",
    "/v1/auth/dev-token",
    "/v1/payments/webhook",
    "/internal/v1/ingest/authorize",
}


class Problem(BaseModel):
    """RFC 9457 problem details: what every error answers, with ``application/problem+json``."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    reason: str | None = Field(default=None, description="A stable code for machines.")


ERRORS = {
    "400": "The request is malformed",
    "401": "No valid bearer token (or webhook signature)",
    "403": "Not allowed for this principal",
    "404": "No such resource",
    "409": "Conflicts with the resource's state",
    "422": "The request does not validate; detail names the field",
    "429": "Too many failed authentications or sign-ins from this address (see Retry-After)",
    "503": "A dependency did not answer in time; retrying is safe (see Retry-After)",
}


def raw_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads ``model`` from its raw body."""
    RAW_BODIES[model.__name__] = model
    return {"x-raw-body": model.__name__}


def operation_id(route: APIRoute) -> str:
    """Each operation is named after its route function (``send_gift``), so the pages' generated
    client calls ``sendGift`` rather than ``sendGiftV1GiftsPost``."""
    return route.name


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
    names = Counter(op["operationId"] for ops in doc["paths"].values() for op in ops.values())
    if twice := sorted(name for name, count in names.items() if count > 1):
        raise ValueError(f"route functions named twice, so operation ids clash: {twice}")
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    models: list[type[BaseModel]] = [Problem, *RAW_BODIES.values()]
    for model in models:
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}
    for operations in doc["paths"].values():
        for operation in operations.values():
            name = operation.pop("x-raw-body", None)
            if name is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}},
                }
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses[status] = {"description": description, "content": problem}
    return doc


def install(app: FastAPI) -> None:
    """Serve :func:`document` at /openapi.json (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def exported() -> str:
    """The document as ``docs/openapi.json`` holds it. The app is built, never started: no
    configuration is read and the placeholder secrets sign nothing."""
    from pydantic import SecretStr

    from serving.api.app import create_app
    from streams.settings import AuthSettings, PaymentsSettings, Settings

    placeholder = SecretStr("-" * 32)
    settings = Settings.model_construct(
        auth=AuthSettings.model_construct(token_secret=placeholder),
        payments=PaymentsSettings.model_construct(webhook_secret=placeholder),
    )
    return json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    sys.stdout.write(exported())


if __name__ == "__main__":
    main()
