"""AMF0, the encoding of RTMP commands (connect, publish, onStatus). Pure."""

from __future__ import annotations

import struct
from typing import Any


class AmfError(ValueError):
    pass


NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED, ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING = (
    0,
    1,
    2,
    3,
    5,
    6,
    8,
    9,
    10,
    11,
    12,
)


def decode_all(data: bytes) -> list[Any]:
    values = []
    offset = 0
    while offset < len(data):
        value, offset = _decode(data, offset)
        values.append(value)
    return values


def _decode(data: bytes, offset: int) -> tuple[Any, int]:
    try:
        marker = data[offset]
        offset += 1
        if marker == NUMBER:
            return struct.unpack_from(">d", data, offset)[0], offset + 8
        if marker == BOOLEAN:
            return bool(data[offset]), offset + 1
        if marker == STRING:
            return _string(data, offset)
        if marker == LONG_STRING:
            (length,) = struct.unpack_from(">I", data, offset)
            return data[offset + 4 : offset + 4 + length].decode("utf-8", "replace"), offset + 4 + length
        if marker in (NULL, UNDEFINED):
            return None, offset
        if marker == OBJECT:
            return _properties(data, offset)
        if marker == ECMA_ARRAY:
            return _properties(data, offset + 4)
        if marker == STRICT_ARRAY:
            (count,) = struct.unpack_from(">I", data, offset)
            offset += 4
            items = []
            for _ in range(count):
                item, offset = _decode(data, offset)
                items.append(item)
            return items, offset
        if marker == DATE:
            return struct.unpack_from(">d", data, offset)[0], offset + 10
    except (IndexError, struct.error) as err:
        raise AmfError(f"truncated AMF0 value at byte {offset}") from err
    raise AmfError(f"unsupported AMF0 marker {marker} at byte {offset - 1}")


def _string(data: bytes, offset: int) -> tuple[str, int]:
    (length,) = struct.unpack_from(">H", data, offset)
    end = offset + 2 + length
    if end > len(data):
        raise AmfError("truncated AMF0 string")
    return data[offset + 2 : end].decode("utf-8", "replace"), end


def _properties(data: bytes, offset: int) -> tuple[dict[str, Any], int]:
    props: dict[str, Any] = {}
    while True:
        if offset + 3 > len(data):
            raise AmfError("AMF0 object without its end marker")
        if data[offset : offset + 3] == b"\x00\x00\x09":
            return props, offset + 3
        key, offset = _string(data, offset)
        props[key], offset = _decode(data, offset)


def encode(*values: Any) -> bytes:
    return b"".join(_encode(v) for v in values)


def _encode(value: Any) -> bytes:
    if value is None:
        return bytes([NULL])
    if isinstance(value, bool):
        return bytes([BOOLEAN, int(value)])
    if isinstance(value, int | float):
        return bytes([NUMBER]) + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        return bytes([STRING]) + struct.pack(">H", len(raw)) + raw
    if isinstance(value, dict):
        body = b"".join(
            struct.pack(">H", len(k.encode())) + k.encode() + _encode(v) for k, v in value.items()
        )
        return bytes([OBJECT]) + body + b"\x00\x00\x09"
    raise AmfError(f"cannot encode {type(value).__name__} as AMF0")
