import io
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "schema.yml"


@pytest.fixture(scope="module")
def generated_schema():
    out = io.StringIO()
    # --validate checks against the OpenAPI 3 meta-schema; --fail-on-warn turns any warning into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return out.getvalue()


def test_schema_validates_and_matches_the_committed_one(generated_schema):
    assert COMMITTED.read_text() == generated_schema, (
        "docs/schema.yml is stale: run `make schema` and review the diff (a renamed field breaks clients)")


def test_schema_documents_the_customer_api(generated_schema):
    schema = yaml.safe_load(generated_schema)
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= {"/api/v1/customers", "/api/v1/customers/{customer_id}"}
    assert not [p for p in schema["paths"] if p.endswith("/")]
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values() if "operationId" in op]
    assert len(ids) == len(set(ids))
    create = schema["paths"]["/api/v1/customers"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert schema["components"]["securitySchemes"]["ApiKey"] == {"type": "http", "scheme": "bearer"}


@pytest.mark.django_db
def test_schema_endpoint(client):
    r = client.get("/api/schema/")
    assert r.status_code == 200
    assert yaml.safe_load(r.content)["info"]["title"] == "Payments Back-office API"


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.django_db
@override_settings(DEBUG=False)
@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_only_local_assets_under_the_csp(client, page):
    r = client.get(page)
    assert r.status_code == 200
    html = r.content.decode()
    assets = _assets(html)
    assert assets
    for url in assets:
        assert url.startswith("/"), f"{page} loads {url} from elsewhere"
        assert not url.startswith("//")
        asset = client.get(url)
        assert asset.status_code == 200, url
        if asset.streaming:
            b"".join(asset.streaming_content)  # drain, so the file is closed
    assert "http://" not in html and "https://" not in html
    assert "fonts.googleapis" not in html
    # No inline script or style: the CSP allows neither.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "unsafe-eval" not in csp
