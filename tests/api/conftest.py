"""API clients that sign in with a token, as real API callers do."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api_client():
    return APIClient()
