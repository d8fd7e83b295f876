"""The API reference at /api/docs in a real browser: readable offline, no CSP violation, links work."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a live server and Chromium


def test_api_docs_page(page, live_server):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/api/docs")
    expect(page.get_by_test_id("api-title")).to_have_text("CelebVision API")
    operations = page.get_by_test_id("api-op")
    assert operations.count() >= 30
    expect(page.locator("#api-classify-post")).to_contain_text("multipart/form-data")
    expect(page.locator("#admin-create_task-post")).to_contain_text("admin")
    page.get_by_role("link", name="POST /api/stylize", exact=True).click()
    expect(page.locator("#api-stylize-post")).to_be_in_viewport()
    assert all(url.startswith(live_server.base_url) for url in requested), (
        requested
    )  # nothing from elsewhere
    with page.expect_response(lambda r: r.url.endswith("/api/openapi.json")) as answer:
        page.get_by_test_id("openapi-link").click()
    assert answer.value.json()["openapi"].startswith("3.")


def test_the_curl_sessions_in_the_docs_work(live_server, tmp_path):
    """Each group's curl session from /api/docs, run as a script writer would (curl + jq)."""
    import io
    import re
    import shutil
    import subprocess
    import zipfile

    import requests

    from tests.browser.conftest import picture
    from webapp.apidocs.examples import BASE

    if not (shutil.which("curl") and shutil.which("jq")):
        pytest.skip("curl and jq are needed to run the documented examples")
    (tmp_path / "face.jpg").write_bytes(picture("astronaut", max_side=256))
    (tmp_path / "photo.jpg").write_bytes(picture("astronaut", max_side=256))
    (tmp_path / "painting.jpg").write_bytes(picture("coffee", max_side=256))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        for n, name in enumerate(("chelsea", "coffee", "rocket", "astronaut")):
            out.writestr(
                f"{('glasses', 'no_glasses')[n % 2]}/{name}.jpg", picture(name, max_side=96)
            )
    (tmp_path / "glasses.zip").write_bytes(archive.getvalue())

    doc = requests.get(live_server.url("/api/openapi.json"), timeout=10).json()
    user, password = live_server.admin_auth
    outputs = {}
    for tag in doc["tags"]:
        blocks = re.findall(r"```\n(.*?)\n```", tag["description"], re.DOTALL)
        assert blocks, f"no curl example for {tag['name']}"
        script = "\n".join(blocks)
        assert BASE not in script and live_server.base_url in script  # the address it answers on
        script = script.replace("admin:your-password", f"{user}:{password}")
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, (tag["name"], run.stdout, run.stderr)
        outputs[tag["name"]] = run.stdout
    assert '"agrees"' in outputs["classification"], outputs["classification"]
    assert '"error"' not in outputs["classification"] + outputs["style"], outputs
    assert (tmp_path / "result.png").stat().st_size > 1000
    assert "204" in outputs["style"].split(), outputs["style"]  # the session's DELETE
    errors = re.findall(r'"error": ?"([^"]*)"', outputs["admin"])
    assert all("Nothing to roll back" in e or "already exists" in e for e in errors), errors
    assert '"added": 4' in outputs["admin"].replace('"added":4', '"added": 4'), outputs["admin"]
    assert "celebvision_" in outputs["operations"] and '"status"' in outputs["operations"]
