"""认定 and 月报 in a real browser (issue 15, items 4–5), at the phone and the desktop width: 汉滨区 attaches a
contract to a signing and is refused a file that is not what it claims; the city's verifier (李晓燕) verifies it
from the queue in one step; the annual report shows verified and awaiting side by side; a monthly report frozen
on demand shows the figures as reported and, after a change, the changed cells highlighted. Screenshots of each
screen go to build/screenshots (and SHOTS_DIR when set, for the docs)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.conftest import SCREENSHOTS

PDF = b"%PDF-1.4\n%%EOF\n"


def _shot(page, name: str, viewport: str) -> None:
    for folder in filter(None, (SCREENSHOTS, os.environ.get("SHOTS_DIR"))):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"verification-{name}-{viewport}.png"), full_page=True)


@pytest.fixture
def gated(live_server):
    """The figures count verified records only, as in production (the other journeys count everything)."""
    live_server.config["REPORTS_COUNT_VERIFIED_ONLY"] = True
    yield
    live_server.config["REPORTS_COUNT_VERIFIED_ONLY"] = False


def test_verify_a_signing_and_freeze_a_monthly_report(any_page, viewport, sign_in, base_url, tmp_path, gated):
    page = sign_in(any_page, "city2")
    # 月报 first: frozen now, before the verification below changes the live figures
    page.goto(f"{base_url}/reports/snapshots/")
    page.get_by_label("备注").fill("报市政府月报")
    page.get_by_role("button", name="立即生成月报").click()
    page.wait_for_load_state()
    assert page.get_by_text("月报已生成并冻结。").is_visible()
    snapshot_url = page.url

    page.goto(f"{base_url}/verification/")
    assert page.get_by_role("heading", name="待认定清单").is_visible()
    _shot(page, "queue", viewport)
    # a signing with its contract uploaded and no 撞单 suspicion: the first enabled 认定 button
    button = page.locator("form[action*='/signings/'][action$='/verify'] button:not([disabled])").first
    action = button.locator("xpath=..").get_attribute("action")
    project_id = re.search(r"/signings/(\d+)/verify", action).group(1)
    button.click()
    page.wait_for_load_state()
    assert page.get_by_text("已认定，现已计入年度数据。").is_visible()

    page.goto(f"{base_url}/verification/projects/{project_id}")
    assert page.locator(".badge", has_text="已认定").first.is_visible()
    fake = tmp_path / "营业执照.pdf"
    fake.write_bytes(b"GIF89a\x01\x00 definitely not a PDF")
    page.locator("input[type=file]").set_input_files(str(fake))
    page.get_by_role("button", name="上传").click()
    page.wait_for_load_state()
    assert page.get_by_text("只接受 PDF、JPEG、PNG 文件").is_visible()
    _shot(page, "project", viewport)

    page.goto(f"{base_url}/reports/annual")
    assert page.locator("#pending").is_visible()
    _shot(page, "annual", viewport)

    # the frozen report still shows the figures as reported; the comparison highlights the verified signing
    page.goto(snapshot_url + "?diff=1")
    assert page.locator("td.table-warning").count() >= 2
    assert page.get_by_text("signed_projects.count", exact=True).is_visible()
    _shot(page, "snapshot", viewport)
    assert page.js_errors == []
