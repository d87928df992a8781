"""Shared fixtures. Servers are started by scripts/python-test.sh; a test that needs one fails
loudly when its variables are missing."""

from __future__ import annotations

import os
import uuid

import pytest

import tidemark


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests through scripts/python-test.sh")
    return value


@pytest.fixture(params=["local", "s3"])
def store_url(request, tmp_path) -> tuple[str, dict[str, str]]:
    """A fresh, empty store: a local folder, or a prefix in the moto S3 bucket."""
    if request.param == "local":
        return str(tmp_path / "store"), {}
    endpoint = require_env("TIDEMARK_TEST_S3_ENDPOINT")
    bucket = require_env("TIDEMARK_TEST_S3_BUCKET")
    options = {
        "endpoint": endpoint,
        "allow_http": "true",
        "region": "us-east-1",
        "access_key_id": "testing",
        "secret_access_key": "testing",
    }
    return f"s3://{bucket}/python-{uuid.uuid4().hex}", options


@pytest.fixture
def store(store_url) -> tidemark.Store:
    url, options = store_url
    return tidemark.Store(url, **options)
