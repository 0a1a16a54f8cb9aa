"""End-to-end tests share the integration fixtures (real services, nothing mocked)."""

from tests.integration.conftest import settings, unique  # noqa: F401
