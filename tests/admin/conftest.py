"""Fixtures for the flag dashboard tests."""
import pytest

from tests.conftest import set_isolation


@pytest.fixture
def admin(app, people):
    """The admin, signed in, on an install whose flag isolates cohort staff only."""
    set_isolation(app, ["staff"])
    return people.client("admin")
