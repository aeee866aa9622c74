"""The problem loop end to end in a real browser, at the phone and the desktop width: a county user logs a visit and
raises a 用地 problem from it; the city routes it to 市自然资源局 and, on the 联席会议 agenda of a day past its deadline
(the meeting day moved forward by the test), finds it overdue; the department's contact records 办理 and 办结; the
county records the enterprise's confirmation with its rating and the problem is closed."""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.test_daily_journeys import arrive, enter, go, hanbin_lead
from tests.browser.test_foundation_journeys import sign_out

pytestmark = pytest.mark.browser

TZ = ZoneInfo("Asia/Shanghai")
LEAD_SLOTS = {"phone": 4, "desktop": 5}  # leads of hanbin no other journey touches
SHOTS = os.environ.get("CRM_SHOTS_DIR")  # set it to keep a screenshot of every step (the docs use them)


def settle(page) -> None:
    """Let the page finish loading what it started (icon fonts) before leaving it: a request cut off mid-file leaves
    werkzeug's file handle to the garbage collector, a ResourceWarning the suite turns into an error."""
    page.wait_for_load_state("networkidle")


def leave(page) -> None:
    settle(page)
    sign_out(page)
    settle(page)


def shot(page, name: str, viewport: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{viewport}.png"), full_page=True, timeout=30_000)


def test_a_land_problem_goes_from_a_visit_to_the_enterprises_confirmation(any_page, sign_in, base_url, live_server,
                                                                           viewport):
    page = any_page
    lead_id, lead_name = hanbin_lead(live_server, LEAD_SLOTS[viewport])
    title = f"{lead_name[:6]}二期项目用地尚未交付（{viewport}）"
    summary = f"走访{lead_name}，企业反映二期用地问题（{viewport}）"

    # The county logs the visit, then raises the problem from it.
    enter(page, sign_in, base_url, "hanbin")
    expect(page.locator("#problem-tile")).to_be_visible()  # the home page's tile: open and overdue problems
    shot(page, "problems-home", viewport)
    settle(page)
    page.goto(f"{base_url}/leads/{lead_id}")
    page.get_by_role("link", name="登记接洽").first.click()
    arrive(page, f"{base_url}/leads/{lead_id}/interactions/new")
    page.get_by_label("接洽内容").fill(summary)
    page.get_by_role("button", name="保存接洽记录").click()
    arrive(page, f"{base_url}/leads/{lead_id}")
    visit = page.locator("ul.timeline > li").filter(has_text=summary)
    expect(visit).to_have_count(1)
    visit.get_by_role("link", name="反映问题").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("反映问题")
    page.get_by_label("问题", exact=True).fill(title)
    page.get_by_label("问题类别").select_option(label="用地")
    page.get_by_label("紧急程度").select_option(label="较急")
    page.get_by_label("企业诉求").fill("二期50亩工业用地征收未完成，影响厂房开工。")
    shot(page, "problems-raise", viewport)
    page.get_by_role("button", name="提交问题").click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success")).to_contain_text("问题已反映")
    expect(page.locator("#problem-status")).to_have_text("待受理")
    problem_url = page.url
    problem_id = int(re.search(r"/problems/(\d+)$", problem_url).group(1))
    deadline = datetime.now(TZ).date() + timedelta(days=15)  # 较急
    expect(page.locator("#problem")).to_contain_text(deadline.isoformat())
    leave(page)

    # The city routes it to 市自然资源局 …
    enter(page, sign_in, base_url, "city")
    go(page, "问题督办", f"{base_url}/problems/")
    shot(page, "problems-list", viewport)
    page.get_by_role("link", name=title).click()
    arrive(page, problem_url)
    shot(page, "problems-route", viewport)
    page.locator("#route").get_by_label("责任部门").select_option(label="市自然资源局")
    page.locator("#route").get_by_role("button", name="交办").click()
    arrive(page, problem_url)
    expect(page.locator("#problem-department")).to_have_text("市自然资源局")
    # … and on the agenda of a meeting after the deadline it is overdue (not on a meeting today).
    settle(page)
    page.goto(f"{base_url}/problems/meeting")
    expect(page.locator(f"#agenda-{problem_id}")).to_have_attribute("data-overdue", "0")
    page.get_by_label("会议日期").fill((deadline + timedelta(days=5)).isoformat())
    page.get_by_role("button", name="查看议题").click()
    page.wait_for_load_state()
    item = page.locator(f"#agenda-{problem_id}")
    expect(item).to_have_attribute("data-overdue", "1")
    expect(item).to_contain_text("逾期 5 天")
    expect(page.locator("section[data-county='汉滨区']").locator(f"#agenda-{problem_id}")).to_have_count(1)
    shot(page, "problems-meeting", viewport)
    # The 督办单 of 市自然资源局, ready to print.
    settle(page)
    page.goto(f"{base_url}/problems/sheets")
    page.get_by_role("link", name="市自然资源局").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("招商项目问题督办单")
    expect(page.locator("table.duban")).to_contain_text(title)
    shot(page, "problems-sheet", viewport)
    leave(page)

    # The department's contact records 办理, then 办结; they see the project or lead by name only.
    enter_department = sign_in(page, "zrzy")
    arrive(enter_department, f"{base_url}/problems/")
    page.get_by_role("link", name=title).click()
    arrive(page, problem_url)
    expect(page.locator("#problem").get_by_role("link", name=lead_name)).to_have_count(0)
    expect(page.locator("#problem")).to_contain_text(lead_name)
    page.get_by_label("办理环节").select_option(label="办理：记录办理情况")
    page.get_by_label("办理情况").fill("已现场踏勘，正在组卷报批。")
    page.locator("#handle").get_by_role("button", name="记录").click()
    arrive(page, problem_url)
    expect(page.locator("#problem-status")).to_have_text("办理中")
    page.get_by_label("办理环节").select_option(label="办结：问题已解决")
    page.get_by_label("办理情况").fill("用地批复已下达，土地已交付企业。")
    page.locator("#handle").get_by_role("button", name="记录").click()
    arrive(page, problem_url)
    expect(page.locator("#problem-status")).to_have_text("已办结")
    shot(page, "problems-department", viewport)
    leave(page)

    # The county records the enterprise's confirmation with its rating on the 回访: closed.
    enter(page, sign_in, base_url, "hanbin")
    settle(page)
    page.goto(problem_url)
    page.get_by_label("企业满意度（回访）").select_option(label="5 — 非常满意")
    page.get_by_label("企业意见").fill("企业对办理速度表示满意。")
    page.get_by_role("button", name="记录企业确认并办结销号").click()
    arrive(page, problem_url)
    expect(page.locator(".alert-success")).to_contain_text("问题销号")
    expect(page.locator("#problem-status")).to_have_text("企业确认")
    expect(page.locator("#problem-satisfaction")).to_contain_text("5/5")
    kinds = page.locator("#timeline > li").evaluate_all("items => items.map(i => i.dataset.kind)")
    assert kinds == ["raised", "routed", "progress", "resolved", "confirmed"]
    shot(page, "problems-confirmed", viewport)
    assert page.js_errors == []
