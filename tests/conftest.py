from __future__ import annotations

from pathlib import Path

import pytest

SERVICE_TESTS = (Path(__file__).parent / "integration", Path(__file__).parent / "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(folder in Path(str(item.fspath)).parents for folder in SERVICE_TESTS):
            item.add_marker(pytest.mark.integration)
