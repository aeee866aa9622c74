"""Schemathesis against /api/v1/openapi.json, in-process over WSGI, as an admin (who may call every operation):
a bounded number of generated requests per operation, and not one 5xx.

The schema is read from an app made at import (one pytest test per operation); requests go to the module's
populated app (`walk_app`), so ids in paths can hit real objects."""
from __future__ import annotations

import os
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from tests.hostile.known_defects import KNOWN_DEFECTS
from tests.hostile.world import token_client

MAX_EXAMPLES = 15  # per operation: ~50 operations stay inside the suite's time budget


def _schema_app():
    from crm import create_app
    from tests.conftest import base_config

    instance = tempfile.mkdtemp(prefix="crm-openapi-")
    return create_app(base_config(f"sqlite:///{os.path.join(instance, 'unused.sqlite3')}", instance))


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _schema_app())


@pytest.fixture(scope="module")
def admin_token(walk_app, world) -> str:
    return token_client(walk_app, world, "admin").token


@schema.parametrize()
# No shrinking: a failure is reported as found (with its curl line), and a failing run stays as short as a green one.
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_api_operation_never_answers_5xx(case, admin_token, walk_app, request):
    reason = KNOWN_DEFECTS.get(f"schemathesis {case.operation.label}")
    if reason:
        # not strict: schemathesis' report hook cannot take a strict XPASS (an INTERNALERROR)
        request.node.add_marker(pytest.mark.xfail(strict=False, reason=f"KNOWN DEFECT: {reason}"))
    response = case.call(app=walk_app, headers={"Authorization": f"Bearer {admin_token}"})
    error = walk_app.walk_errors[-1] if response.status_code >= 500 and walk_app.walk_errors else ""
    assert response.status_code < 500, f"{case.as_curl_command()}\n{error}"
    case.validate_response(response, checks=[not_a_server_error])
