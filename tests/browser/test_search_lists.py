"""Search lists in a real browser, at the phone and the desktop width: a county user narrows a search by a facet,
sees it as a removable chip, removes it, ticks two results and tags them in bulk, and reads which were done and
which were refused; the administrator reads the audit log in Chinese; the profile shows the Chinese role."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_daily_journeys import arrive, enter

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("CRM_SHOTS", str(SCREENSHOTS)))


def shot(page, name: str, viewport: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{viewport}.png"), full_page=True)


def test_county_user_filters_by_chip_and_tags_selected_results(any_page, sign_in, base_url, viewport):
    page = any_page
    enter(page, sign_in, base_url, "hanbin")
    page.goto(f"{base_url}/search/?q=富硒", timeout=60_000)  # the first search of a fresh demo loads jieba
    page.wait_for_load_state()
    if viewport == "phone":
        page.get_by_role("button", name="筛选").click()
    page.locator('#search-facets a[href*="kind=enterprise"]').first.click()
    chip = page.locator("#active-filters .filter-chip")
    expect(chip).to_have_count(1)
    expect(chip).to_contain_text("类型:")
    expect(chip).to_contain_text("企业")
    shot(page, "search-chips", viewport)
    chip.click()
    expect(page.locator("#active-filters")).to_have_count(0)
    page.locator('#search-facets a[href*="kind=enterprise"]').first.wait_for(state="attached")

    boxes = page.locator("input.bulk-row")
    expect(page.locator("[data-bulk-submit]")).to_be_disabled()
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(page.locator("[data-bulk-count]")).to_have_text("已选 2 条")
    page.locator("[data-bulk-action]").select_option("tag")
    expect(page.locator('[data-bulk-param="owner"]')).to_be_hidden()
    page.locator('#bulk-form input[name="tag"]').fill("春节走访")
    shot(page, "search-bulk-bar", viewport)
    page.locator("[data-bulk-submit]").click()
    page.wait_for_load_state()
    summary = page.locator("#bulk-summary")
    expect(summary).to_be_visible()
    numbers = [int(t) for t in summary.locator(".fs-4").all_inner_texts()]
    assert sum(numbers) == 2
    if numbers[2]:
        expect(page.locator("#bulk-refused")).to_contain_text("只有该县区或市局可以修改")
    shot(page, "search-bulk-result", viewport)

    # the lead list takes the same bulk bar; a row shown twice (card and table row) counts once
    page.goto(f"{base_url}/leads")
    page.wait_for_load_state()
    visible = page.locator("input.bulk-row:visible")
    visible.first.check()
    expect(page.locator("[data-bulk-count]")).to_have_text("已选 1 条")
    page.locator("[data-bulk-page]").check()
    expect(page.locator("[data-bulk-count]")).to_have_text(f"已选 {visible.count()} 条")
    shot(page, "leads-bulk", viewport)
    assert not page.js_errors


def test_admin_reads_the_audit_log_and_profile_in_chinese(any_page, sign_in, base_url, viewport):
    page = any_page
    enter(page, sign_in, base_url, "admin")
    page.goto(f"{base_url}/admin/audit")
    arrive(page, f"{base_url}/admin/audit")
    entries = page.locator("#audit-entries")
    expect(entries).to_contain_text("登录")
    expect(page.locator("#audit-filters input[name=since]")).to_be_visible()
    shot(page, "audit-log", viewport)
    page.goto(f"{base_url}/profile")
    expect(page.locator("main")).to_contain_text("系统管理员")
    expect(page.locator("main")).not_to_contain_text("· admin")
    shot(page, "profile", viewport)
    assert not page.js_errors
