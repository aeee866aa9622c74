"""Holiday outreach in a real browser, at the phone and the desktop width: city staff update the 春节 list; a county
user taps 婉拒 by mistake, sees the counters follow at once, and changes the result to 已问候 from the same card;
the lead's timeline says 已问候."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_daily_journeys import arrive, enter, go
from tests.browser.test_foundation_journeys import sign_out

pytestmark = pytest.mark.browser


def _count(page, name: str) -> int:
    return int(page.locator(f'#outreach-counts [data-counter="{name}"]').inner_text())


def test_county_user_changes_a_mistaken_declined_and_the_counters_follow(any_page, sign_in, base_url, viewport):
    page = any_page
    enter(page, sign_in, base_url, "city")
    go(page, "节日走访", f"{base_url}/outreach/")
    page.get_by_label("节日").select_option(label="春节")
    title = f"{page.get_by_label('年份').input_value()}年春节"
    page.get_by_role("button", name="生成名单").click()  # opens the list when it is already there
    arrive(page, re.compile(r"/outreach/campaigns/\d+/progress$"))
    page.get_by_role("button", name="更新名单").click()  # nobody registered since: the list stays as it is
    expect(page.locator(".alert-success")).to_contain_text("名单已更新：新增 0 位，移出 0 位")
    page.screenshot(path=str(SCREENSHOTS / f"outreach-progress-{viewport}.png"), full_page=True)
    sign_out(page)

    enter(page, sign_in, base_url, "hanbin")
    go(page, "节日走访", f"{base_url}/outreach/")
    page.locator(".list-group-item").filter(has_text=title).get_by_role("link", name="我的问候名单").click()
    arrive(page, re.compile(r"/outreach/campaigns/\d+/mine$"))
    done = page.locator('#outreach-counts [data-counter="done"]')
    done_before, total = map(int, re.findall(r"\d+", done.inner_text()))
    pending_before, declined_before = _count(page, "pending"), _count(page, "declined")
    assert pending_before > 0, "hanbin has people left to greet"

    card = page.locator(".outreach-card").filter(has=page.locator(".badge.text-bg-warning")).first
    card = page.locator(f"#{card.get_attribute('id')}")  # the same card after htmx swaps it
    lead_name = card.locator(".fw-semibold a").inner_text()
    card.get_by_role("button", name="婉拒").click()
    expect(card.locator(".badge.align-self-start")).to_have_text("婉拒")
    # the counters followed without a reload
    expect(done).to_have_text(f"{done_before + 1}/{total} 已完成")
    expect(page.locator('#outreach-counts [data-counter="declined"]')).to_have_text(str(declined_before + 1))
    expect(page.locator('#outreach-counts [data-counter="pending"]')).to_have_text(str(pending_before - 1))

    # …it was a mistake: change it from the same card
    card.get_by_text("更改结果").click()
    card.get_by_placeholder("更改原因（选填）").fill(f"按错了，已电话拜年（{viewport}）")
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"outreach-change-open-{viewport}.png"), full_page=False)
    card.locator("form[action$='/change']").get_by_role("button", name="已问候").click()
    expect(card.locator(".alert-success")).to_have_text("已登记：已问候。")
    expect(card.locator(".badge.align-self-start")).to_have_text("已问候")
    expect(page.locator('#outreach-counts [data-counter="declined"]')).to_have_text(str(declined_before))
    expect(done).to_have_text(f"{done_before + 1}/{total} 已完成")

    card.get_by_role("link", name=lead_name).click()
    arrive(page, re.compile(r"/leads/\d+$"))
    entry = page.locator("ul.timeline > li").filter(has_text=f"按错了，已电话拜年（{viewport}）")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(f"{title}节日问候：已问候")
    expect(entry).not_to_contain_text("婉拒")
    assert page.js_errors == []
