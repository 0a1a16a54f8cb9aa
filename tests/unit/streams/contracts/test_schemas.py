from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from streams.contracts.catalog import EVENT_MODELS
from streams.contracts.codec import encode
from streams.contracts.schemas import export
from tests.samples import ALL_SAMPLES


def test_make_schemas_writes_one_schema_per_event(tmp_path: Path) -> None:
    written = export(tmp_path)
    assert len(written) == len(EVENT_MODELS)
    for path in written:
        schema = json.loads(path.read_text())
        assert schema["additionalProperties"] is False
        assert {"event_id", "occurred_at", "producer", "event_type"} <= set(schema["required"])
        assert schema["x-topic"]
        assert schema["x-dead-letter-topic"].endswith(".dlq")


@pytest.mark.parametrize("event", ALL_SAMPLES, ids=lambda e: e.event_type)
def test_exported_schema_accepts_what_the_model_writes(tmp_path: Path, event: object) -> None:
    export(tmp_path)
    etype = event.event_type  # type: ignore[attr-defined]
    schema = json.loads((tmp_path / f"{etype}.v1.schema.json").read_text())
    jsonschema.validate(json.loads(encode(event)), schema)  # type: ignore[arg-type]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**json.loads(encode(event)), "extra": 1}, schema)  # type: ignore[arg-type]
