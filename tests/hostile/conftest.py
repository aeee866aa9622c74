"""One populated app per module for the endpoint walks: building the world once keeps hundreds of hostile
requests fast."""
from __future__ import annotations

import pytest

from tests.hostile.world import build_world, module_app


@pytest.fixture(scope="module")
def walk_app(database_url, tmp_path_factory):
    yield from module_app(database_url, str(tmp_path_factory.mktemp("walk")))


@pytest.fixture(scope="module")
def world(walk_app):
    return build_world(walk_app)
