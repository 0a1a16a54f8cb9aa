"""Export one JSON Schema per event (``make schemas``): ``python -m streams.contracts.schemas OUT_DIR``.

The schemas are generated from the pydantic models, never written by hand, so they cannot
drift; each carries the topic, key and dead-letter topic from the registry.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from streams.contracts.base import ENVELOPE_REQUIRED_ON_WIRE, Event
from streams.contracts.catalog import EVENT_MODELS
from streams.topics import TOPICS


def schema_for(model: type[Event]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    topic = TOPICS.for_event(model)
    # On the wire the envelope is never defaulted (see codec.decode).
    schema["required"] = sorted({*schema.get("required", []), *ENVELOPE_REQUIRED_ON_WIRE, "producer"})
    schema["$id"] = f"urn:live-platform:event:{model.EVENT_TYPE}:v{model.SCHEMA_VERSION}"
    schema["x-event-type"] = model.EVENT_TYPE
    schema["x-schema-version"] = model.SCHEMA_VERSION
    schema["x-topic"] = topic.name
    schema["x-key"] = topic.key
    schema["x-dead-letter-topic"] = topic.dead_letter
    return schema


def export(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for model in EVENT_MODELS:
        path = out_dir / f"{model.EVENT_TYPE}.v{model.SCHEMA_VERSION}.schema.json"
        path.write_text(json.dumps(schema_for(model), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "build/schemas")
    written = export(out)
    sys.stdout.write(f"{len(written)} JSON Schemas written to {out}/\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
