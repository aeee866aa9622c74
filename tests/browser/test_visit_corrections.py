"""A visit in a real browser, at the phone and the desktop width: a contradictory entry is refused with its
reason, a double tap on save logs one visit, then the visit is corrected and withdrawn (撤回) from the lead's
timeline."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_daily_journeys import arrive, enter, hanbin_lead

pytestmark = pytest.mark.browser

SLOTS = {"phone": 6, "desktop": 7}  # leads of hanbin no other journey works on


def test_county_user_double_taps_save_then_corrects_and_withdraws_the_visit(any_page, sign_in, base_url,
                                                                            live_server, viewport):
    page = any_page
    lead_id, lead_name = hanbin_lead(live_server, SLOTS[viewport])
    summary = f"叩门拜访{lead_name}，介绍园区用地（{viewport}）"
    enter(page, sign_in, base_url, "hanbin")
    page.goto(f"{base_url}/leads/{lead_id}")
    page.get_by_role("link", name="登记接洽").first.click()
    arrive(page, f"{base_url}/leads/{lead_id}/interactions/new")

    page.get_by_label("方式").select_option(label="外出拜访（叩门）")
    page.get_by_label("带队领导级别").select_option(label="无领导带队")
    page.get_by_label("带队领导姓名").fill("张县长")
    page.get_by_label("接洽内容").fill(summary)
    page.get_by_label("人次").fill("3")
    page.get_by_role("button", name="保存接洽记录").click()
    page.wait_for_load_state()
    expect(page.locator(".invalid-feedback")).to_contain_text("已选择“无领导带队”")

    page.get_by_label("带队领导姓名").fill("")
    page.get_by_role("button", name="保存接洽记录").dblclick()
    arrive(page, f"{base_url}/leads/{lead_id}")
    visit = page.locator("ul.timeline > li").filter(has_text=summary)
    expect(visit).to_have_count(1)

    visit.get_by_role("link", name="更正").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("更正接洽记录")
    page.get_by_label("人次").fill("5")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"visit-correction-form-{viewport}.png"), full_page=True)
    page.get_by_role("button", name="保存更正").click()
    arrive(page, f"{base_url}/leads/{lead_id}")
    expect(page.locator(".alert-success")).to_contain_text("接洽记录已更正")
    expect(visit).to_contain_text("5")

    visit.get_by_role("link", name="更正").click()
    page.wait_for_load_state()
    page.get_by_label("撤回原因").fill("重复录入")
    page.get_by_role("button", name="撤回").click()
    arrive(page, f"{base_url}/leads/{lead_id}")
    expect(visit).to_have_count(1)
    expect(visit).to_contain_text("已撤回")
    expect(visit).to_contain_text("重复录入")
    expect(visit.get_by_role("link", name="更正")).to_have_count(0)
    assert page.js_errors == []
