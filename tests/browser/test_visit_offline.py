"""Never lose a typed visit, in a real browser (issue 14, item 3; item 1's "use this lead"): a visit logged on a
phone without signal is kept, shown as 待发送 1 条 and sent exactly once when the phone is back online; a session
that ends mid-form (signed out in another tab) asks to sign in on the page and then saves what was typed; a draft
comes back after navigating away and can be discarded; a duplicate warning's 使用此客商 logs on the existing lead.
Screenshots of each state at 390 and 1280 px go to build/screenshots (and /tmp/shots/visitform when it exists)."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, SCREENSHOTS
from tests.browser.test_daily_journeys import arrive, enter, hanbin_lead
from tests.browser.test_foundation_journeys import sign_out

pytestmark = pytest.mark.browser

SLOTS = {"offline": 8, "session-phone": 9, "session-desktop": 10, "draft-phone": 11, "draft-desktop": 12}
EXTRA_SHOTS = Path("/tmp/shots/visitform")


def shoot(page, name: str) -> None:
    for folder in (SCREENSHOTS, EXTRA_SHOTS if EXTRA_SHOTS.parent.exists() else None):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def rows_with(app, summary: str) -> int:
    from sqlalchemy import func, select

    from crm.extensions import db
    from crm.models import Interaction

    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(Interaction)
                                     .where(Interaction.summary == summary))
        finally:
            db.session.remove()


def open_form_online(page, base_url, lead_id: int) -> str:
    """The lead's visit form, opened once with signal so the service worker keeps it (as a cadre does before
    leaving for a visit)."""
    url = f"{base_url}/leads/{lead_id}/interactions/new"
    page.goto(url)
    arrive(page, url)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # the first load installed the worker; from now on it serves (and keeps) the form
    arrive(page, url)
    assert page.evaluate("!!navigator.serviceWorker.controller")
    return url


def test_visit_logged_offline_on_a_phone_is_sent_once_on_reconnect(phone_page, sign_in, base_url, live_server):
    page = phone_page
    lead_id, lead_name = hanbin_lead(live_server, SLOTS["offline"])
    summary = f"山区叩门拜访{lead_name}，现场无信号（离线记录）"
    enter(page, sign_in, base_url, "hanbin")
    url = open_form_online(page, base_url, lead_id)

    page.context.set_offline(True)
    page.reload()  # without signal the worker's copy of the form opens
    arrive(page, url)
    expect(page.get_by_role("heading", level=1)).to_have_text("登记接洽")
    expect(page.locator("#visit-form")).to_contain_text(lead_name)  # this lead's form, not just any copy
    page.get_by_label("地点").fill("岚皋县四季镇")
    page.get_by_label("接洽内容").fill(summary)
    page.get_by_label("人次").fill("2")
    page.get_by_role("button", name="保存接洽记录").click()
    expect(page.locator("#visit-queue")).to_be_visible()
    expect(page.locator("#visit-queue")).to_contain_text("待发送 1 条")
    expect(page.locator("#visit-notice")).to_contain_text("恢复网络后自动发送")
    expect(page.get_by_label("接洽内容")).to_have_value("")  # ready for the next visit
    shoot(page, "visit-offline-queued-phone")
    assert rows_with(live_server, summary) == 0
    queue_key, queued = page.evaluate("""() => {
      const key = Object.keys(localStorage).find(k => k.startsWith('crm.visit.queue.'));
      return [key, JSON.parse(localStorage.getItem(key))];
    }""")
    assert len(queued) == 1 and queued[0]["key"]

    page.context.set_offline(False)  # back online: the page sends the queue by itself
    expect(page.locator("#visit-notice")).to_contain_text("已发送：1 条拜访已保存")
    expect(page.locator("#visit-queue")).to_be_hidden()
    assert rows_with(live_server, summary) == 1

    # The answer to that send was lost (the signal dropped just then), so the phone sends the same visit again:
    page.evaluate("([key, items]) => localStorage.setItem(key, JSON.stringify(items))", [queue_key, queued])
    page.reload()
    arrive(page, url)
    expect(page.locator("#visit-notice")).to_contain_text("已发送：1 条拜访已保存")
    expect(page.locator("#visit-queue")).to_be_hidden()
    assert rows_with(live_server, summary) == 1  # … and it finds the first save: still exactly one row
    page.goto(f"{base_url}/leads/{lead_id}")
    expect(page.locator("ul.timeline > li").filter(has_text=summary)).to_have_count(1)
    assert page.js_errors == []


def test_session_ending_mid_form_asks_to_sign_in_and_keeps_the_text(any_page, sign_in, base_url, live_server,
                                                                   viewport):
    page = any_page
    lead_id, lead_name = hanbin_lead(live_server, SLOTS[f"session-{viewport}"])
    summary = f"接待{lead_name}考察团，介绍园区配套（会话过期 {viewport}）"
    enter(page, sign_in, base_url, "hanbin")
    url = f"{base_url}/leads/{lead_id}/interactions/new"
    page.goto(url)
    arrive(page, url)
    page.get_by_label("方式").select_option(label="来访接待")
    page.get_by_label("接洽内容").fill(summary)
    page.get_by_label("跟进结果").fill("有意向二期落地")

    other = page.context.new_page()  # meanwhile, in another tab, the user signs out: the session is over
    other.goto(f"{base_url}/")
    sign_out(other)
    other.wait_for_load_state()
    other.close()

    page.get_by_role("button", name="保存接洽记录").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("重新登录后保存")
    expect(page.get_by_label("接洽内容")).to_have_value(summary)  # nothing lost, no "请求被拒绝"
    shoot(page, f"visit-reauth-{viewport}")
    dialog.get_by_label("密码").fill("wrong-password")
    dialog.get_by_role("button", name="登录并保存").click()
    expect(dialog.locator("#reauth-error")).to_contain_text("登录未成功")
    dialog.get_by_label("密码").fill(DEMO_PASSWORD)
    dialog.get_by_role("button", name="登录并保存").click()

    arrive(page, f"{base_url}/leads/{lead_id}")
    expect(page.locator(".alert-success")).to_contain_text("接洽记录已保存")
    visit = page.locator("ul.timeline > li").filter(has_text=summary)
    expect(visit).to_have_count(1)
    expect(visit).to_contain_text("有意向二期落地")
    assert rows_with(live_server, summary) == 1
    assert page.js_errors == []


def test_draft_comes_back_after_navigating_away_and_can_be_discarded(any_page, sign_in, base_url, live_server,
                                                                    viewport):
    page = any_page
    lead_id, lead_name = hanbin_lead(live_server, SLOTS[f"draft-{viewport}"])
    summary = f"电话回访{lead_name}，约定下周面谈（草稿 {viewport}）"
    enter(page, sign_in, base_url, "hanbin")
    url = f"{base_url}/leads/{lead_id}/interactions/new"
    page.goto(url)
    arrive(page, url)
    page.get_by_label("方式").select_option(label="电话")
    page.get_by_label("地点").fill("安康高新区")
    page.get_by_label("接洽内容").fill(summary)
    page.wait_for_timeout(600)  # the draft is written a moment after typing stops

    page.goto(f"{base_url}/leads/")  # called away, another page …
    arrive(page, f"{base_url}/leads/")
    page.goto(url)  # … and back
    arrive(page, url)
    expect(page.locator("#visit-draft")).to_contain_text("已恢复草稿")
    expect(page.get_by_label("接洽内容")).to_have_value(summary)
    expect(page.get_by_label("地点")).to_have_value("安康高新区")
    expect(page.get_by_label("方式")).to_have_value("call")
    shoot(page, f"visit-draft-restored-{viewport}")

    page.get_by_role("button", name="丢弃草稿").click()
    arrive(page, url)
    expect(page.locator("#visit-draft")).to_be_hidden()
    expect(page.get_by_label("接洽内容")).to_have_value("")

    # A draft that was saved does not come back.
    page.get_by_label("接洽内容").fill(summary)
    page.wait_for_timeout(600)
    page.get_by_role("button", name="保存接洽记录").click()
    arrive(page, f"{base_url}/leads/{lead_id}")
    page.goto(url)
    arrive(page, url)
    expect(page.locator("#visit-draft")).to_be_hidden()
    expect(page.get_by_label("接洽内容")).to_have_value("")
    assert rows_with(live_server, summary) == 1
    assert page.js_errors == []


def test_empty_visit_shows_every_problem_in_a_summary_on_top(any_page, sign_in, base_url, viewport):
    page = any_page
    enter(page, sign_in, base_url, "hanbin")
    page.goto(f"{base_url}/interactions/new")
    arrive(page, f"{base_url}/interactions/new")
    page.get_by_label("地点").fill("西安曲江")
    page.get_by_label("下一步", exact=True).fill("寄送资料")
    page.get_by_role("button", name="保存接洽记录").click()
    page.wait_for_load_state()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.locator("li")).to_have_count(3)  # the lead, what was discussed, the next step's due time
    expect(page.get_by_label("地点")).to_have_value("西安曲江")
    box = summary.bounding_box()
    assert box["y"] < page.viewport_size["height"] and box["width"] <= page.viewport_size["width"]
    shoot(page, f"visit-error-summary-{viewport}")
    summary.get_by_role("link", name="接洽内容").click()
    expect(page.get_by_label("接洽内容")).to_be_focused()
    assert page.js_errors == []


def test_duplicate_warning_uses_the_existing_lead(desktop_page, sign_in, base_url, live_server):
    page = desktop_page
    lead_id, lead_name = hanbin_lead(live_server, SLOTS["draft-desktop"] + 1)
    summary = f"叩门拜访{lead_name}（使用已有客商）"
    enter(page, sign_in, base_url, "hanbin")
    page.goto(f"{base_url}/interactions/new")
    arrive(page, f"{base_url}/interactions/new")
    page.get_by_label("新客商").check()
    page.get_by_label("名称").fill(lead_name)
    page.get_by_label("接洽内容").fill(summary)
    page.get_by_role("button", name="保存接洽记录").click()
    page.wait_for_load_state()
    warning = page.locator("#duplicate-warning")
    expect(warning).to_contain_text(lead_name)
    shoot(page, "visit-duplicate-desktop")
    warning.get_by_role("button", name="使用此客商").first.click()
    page.wait_for_load_state()
    expect(page.locator("select#lead_id")).to_have_value(str(lead_id))
    expect(page.get_by_label("新客商")).not_to_be_checked()
    expect(page.get_by_label("接洽内容")).to_have_value(summary)
    page.get_by_role("button", name="保存接洽记录").click()
    arrive(page, f"{base_url}/leads/{lead_id}")
    expect(page.locator("ul.timeline > li").filter(has_text=summary)).to_have_count(1)
    assert page.js_errors == []


# (px the shown text needs, px the field has for it): a select's chosen option beside its arrow, a date-time input's
# longest rendering ("2026/01/15 上午10:00" or "01/15/2026, 10:00 AM") beside its calendar button.
FITS = """el => {
  const cs = getComputedStyle(el);
  const span = document.createElement('span');
  span.style.cssText = 'position:absolute;visibility:hidden;white-space:pre';
  span.style.font = cs.font;
  span.textContent = el.tagName === 'SELECT' ? el.selectedOptions[0].textContent : '01/15/2026, 10:00 AM';
  document.body.appendChild(span);
  const need = span.getBoundingClientRect().width;
  span.remove();
  const reserved = el.tagName === 'SELECT' ? 0 : 24;
  return [Math.ceil(need), Math.floor(el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - reserved)];
}"""


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_visit_form_fits_the_screen(pw_browser, request, sign_in, base_url, viewport_name):
    """At 390 px nothing of the form is cut off: the time field and 方式 are as wide as the screen allows."""
    from tests.browser.conftest import _open_page

    pages = _open_page(pw_browser, request, viewport_name)
    page = next(pages)
    try:
        enter(page, sign_in, base_url, "hanbin")
        page.goto(f"{base_url}/interactions/new")
        arrive(page, f"{base_url}/interactions/new")
        width = page.viewport_size["width"]
        page.get_by_label("截止时间").fill("2030-01-15T10:00")
        for label in ("方式", "时间", "招商考察", "截止时间"):
            field = page.get_by_label(label, exact=True)
            box = field.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (label, box, width)
            need, room = field.evaluate(FITS)
            assert need <= room, f"{label}: its text needs {need}px, has {room}px"
        # 负责人 is a searchable picker (Tom Select): its box is inside the screen, the chosen name ellipsised
        box = page.locator("#next_assignee_id + .ts-wrapper .ts-control").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, ("负责人", box, width)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shoot(page, f"visit-form-{viewport_name}")
    finally:
        next(pages, None)
