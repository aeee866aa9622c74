"""The database unreachable (PostgreSQL restarting, SQLite busy past the timeout): a clean 503 with Retry-After,
problem+json on the API, never a hang or a crash page (bench/faults.py restarts PostgreSQL under load)."""
from __future__ import annotations

from crm import create_app
from tests.conftest import base_config
from tests.faults.harness import free_port


def down_app(tmp_path):
    return create_app(base_config(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", str(tmp_path)))


def test_api_answers_503_problem_json_while_the_database_is_down(tmp_path):
    client = down_app(tmp_path).test_client()
    response = client.get("/api/v1/leads/1", headers={"Authorization": "Bearer crm_" + "x" * 43})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 503 and response.headers["Retry-After"] == "5"


def test_web_answers_503_page_while_the_database_is_down(tmp_path):
    client = down_app(tmp_path).test_client()
    response = client.post("/login", data={"username": "hanbin", "password": "anKang-2027"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.mimetype in ("text/html", "text/plain")
