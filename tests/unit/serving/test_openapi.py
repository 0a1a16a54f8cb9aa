"""The exported OpenAPI document is the API's: current, every body and error declared."""

from __future__ import annotations

import json
import re

import pytest
from fastapi import FastAPI

from serving.api.openapi import document, exported, operation_id
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


PAGES = ("home", "player", "studio", "console", "session")


def test_the_pages_call_the_api_only_through_the_client_generated_from_it() -> None:
    """Each page imports its operations from the generated client (esbuild refuses a name the
    document lacks, at build); here, without node, the same names against the document."""
    doc = json.loads(exported())
    operations = {
        re.sub(r"_(\w)", lambda m: m.group(1).upper(), operation["operationId"])
        for methods in doc["paths"].values()
        for operation in methods.values()
    }
    imported: set[str] = set()
    for page in PAGES:
        source = (REPO_ROOT / "serving" / "web" / "static" / f"{page}.js").read_text()
        assert "fetch(" not in source, f"{page}.js calls the API by hand"
        assert '"/v1/' not in source, f"{page}.js names an API path by hand"
        for names in re.findall(r'import \{([^}]*)\} from "platform-api"', source):
            imported |= {name.split(" as ")[0].strip() for name in names.split(",")}
    assert imported - {"client"} <= operations, sorted(imported - {"client"} - operations)
    assert {"sendGift", "createTopup", "signup", "studio", "decideChat"} <= imported


def test_two_routes_with_one_name_are_refused_rather_than_given_clashing_operation_ids() -> None:
    app = FastAPI(generate_unique_id_function=operation_id)

    def listing() -> dict[str, str]:
        return {}

    app.get("/a", name="listing")(listing)
    app.get("/b", name="listing")(listing)
    with pytest.raises(ValueError, match=r"operation ids clash: \['listing'\]"):
        document(app)
