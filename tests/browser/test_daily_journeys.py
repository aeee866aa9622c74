"""The bureau's four daily jobs, end to end in a real browser at the phone and the desktop width: log a led visit
with a next step; assign a follow-up to a county colleague who completes it; search by industry and narrow with a
facet; work the 春节 outreach list. Everything is clicked and typed as staff would; the database is only read to
pick a lead that belongs to the county user (the demo city is seeded by the live_server fixture)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.test_foundation_journeys import open_menu_if_collapsed, sign_out

pytestmark = pytest.mark.browser

TZ = ZoneInfo("Asia/Shanghai")
HANBIN = "刘洋（汉滨区）"  # the demo's county staff login `hanbin`
CITY = "王建国（市局）"  # the demo's city staff login `city`
# Each journey works on its own lead per viewport, so the session-wide live server never mixes their data.
LEAD_SLOTS = {("visit", "phone"): 0, ("visit", "desktop"): 1, ("assign", "phone"): 2, ("assign", "desktop"): 3}


@pytest.fixture(autouse=True)
def searchable(live_server, base_url):
    """The search index made to match the seeded city, as the server does on start (`flask crm serve` reconciles
    in the background; the live_server fixture only seeds the database)."""
    from crm.extensions import db
    from crm.services import indexing

    with live_server.app_context():
        try:
            indexing.reconcile()
        finally:
            db.session.remove()


def hanbin_lead(app, slot: int) -> tuple[int, str]:
    """(id, name) of one of hanbin's own enterprise leads, the same one on every run."""
    from sqlalchemy import select

    from crm.extensions import db
    from crm.models import Lead, User

    with app.app_context():
        try:
            owner = db.session.scalar(select(User.id).where(User.username == "hanbin"))
            rows = db.session.execute(
                select(Lead.id, Lead.name).where(Lead.owner_id == owner, Lead.kind == "enterprise",
                                                 Lead.deleted_at.is_(None)).order_by(Lead.id)).all()
        finally:
            db.session.remove()
    assert len(rows) > max(max(LEAD_SLOTS.values()), slot), "the demo city gives hanbin enterprise leads"
    return tuple(rows[slot])


def due_in(days: int, hour: int = 10) -> tuple[str, str]:
    """A due time `days` ahead in Ankang: (value for a datetime-local input, as the pages print it MM-dd HH:mm)."""
    when = (datetime.now(TZ) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return when.strftime("%Y-%m-%dT%H:%M"), when.strftime("%m-%d %H:%M")


def arrive(page, url):
    """Wait until the browser is on `url` and its scripts have run: htmx, Bootstrap and Tom Select bind on load,
    and a tap or a keystroke before that is lost (CI runs on a busy machine)."""
    expect(page).to_have_url(url)
    page.wait_for_load_state()


def enter(page, sign_in, base_url, username: str):
    sign_in(page, username)
    arrive(page, f"{base_url}/")


def go(page, label: str, url):
    """Follow a link of the main navigation (behind the toggler on a phone)."""
    open_menu_if_collapsed(page)
    page.locator("#mainnav").get_by_role("link", name=label).click()
    arrive(page, url)


def test_county_user_logs_a_led_visit_with_a_next_step(any_page, sign_in, base_url, live_server, viewport):
    page = any_page
    lead_id, lead_name = hanbin_lead(live_server, LEAD_SLOTS["visit", viewport])
    summary = f"县领导带队叩门拜访{lead_name}，洽谈二期扩产（{viewport}）"
    next_title = f"寄送园区招商手册给{lead_name[:6]}（{viewport}）"
    due_value, due_shown = due_in(3)
    enter(page, sign_in, base_url, "hanbin")

    page.get_by_role("link", name="登记接洽").click()
    arrive(page, f"{base_url}/interactions/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("登记接洽")
    # The lead picker searches as one types part of the name.
    picker = page.get_by_placeholder("输入名称或拼音…")
    picker.click()
    picker.fill(lead_name[2:6])
    option = page.locator(".ts-dropdown .option").filter(has_text=lead_name)
    expect(option).to_have_count(1)
    expect(option).to_contain_text("汉滨区")
    option.click()
    expect(page.locator("select#lead_id")).to_have_value(str(lead_id))
    page.get_by_label("方式").select_option(label="外出拜访（叩门）")
    page.get_by_label("地点").fill("深圳南山区")
    page.get_by_label("带队领导级别").select_option(label="县区领导")
    page.get_by_label("带队领导姓名").fill("张副区长")
    page.get_by_label("接洽内容").fill(summary)
    page.get_by_label("下一步", exact=True).fill(next_title)
    page.get_by_label("截止时间").fill(due_value)
    page.locator("#next_assignee_id + .ts-wrapper .ts-control").click()  # a searchable picker: type a name
    page.keyboard.type(HANBIN[:2])
    page.locator("#next_assignee_id-ts-dropdown [data-selectable]").filter(has_text=HANBIN).first.click()
    expect(page.locator("select#next_assignee_id")).to_have_value(re.compile(r"^[1-9]\d*$"))
    page.get_by_role("button", name="保存接洽记录").click()

    arrive(page, f"{base_url}/leads/{lead_id}")
    expect(page.locator(".alert-success")).to_contain_text("接洽记录已保存")
    expect(page.get_by_role("heading", level=1)).to_contain_text(lead_name)
    visit = page.locator("ul.timeline > li").filter(has_text=summary)
    expect(visit).to_have_count(1)
    expect(visit).to_contain_text("外出拜访（叩门）")
    expect(visit).to_contain_text("深圳南山区")
    expect(visit.locator(".badge")).to_have_text("县区领导 张副区长")
    expect(visit).to_contain_text(HANBIN)  # who went
    step = page.locator("ul.timeline > li.tl-followup").filter(has_text=next_title)
    expect(step).to_have_count(1)
    expect(step).to_contain_text(HANBIN)

    go(page, "跟进任务", f"{base_url}/followups/mine")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的跟进")
    row = page.locator(".list-group-item").filter(has=page.get_by_role("link", name=next_title, exact=True))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(lead_name)
    expect(row).to_contain_text(due_shown)
    assert page.js_errors == []


def test_city_assigns_a_follow_up_that_the_county_user_completes(any_page, sign_in, base_url, live_server, viewport):
    page = any_page
    lead_id, lead_name = hanbin_lead(live_server, LEAD_SLOTS["assign", viewport])
    title = f"请汉滨区核实{lead_name[:6]}的用地需求（{viewport}）"
    outcome = f"已电话联系对方负责人，确认需要50亩工业用地（{viewport}）"
    due_value, due_shown = due_in(2, hour=16)

    # City staff find the lead and give its county colleague a follow-up.
    enter(page, sign_in, base_url, "city")
    go(page, "搜索", f"{base_url}/search/")
    page.locator("#search-q").fill(lead_name)
    hit = page.locator("#search-results").get_by_role("link", name=lead_name, exact=True)
    expect(hit).to_be_visible()
    hit.click()
    arrive(page, f"{base_url}/leads/{lead_id}")
    page.get_by_role("link", name="添加跟进任务").click()
    arrive(page, f"{base_url}/followups/new?lead_id={lead_id}")
    expect(page.locator("select#lead_id")).to_have_value(str(lead_id))  # the searchable picker holds it
    page.get_by_label("跟进事项").fill(title)
    page.get_by_label("截止时间").fill(due_value)
    page.get_by_label("优先级").select_option(label="高")
    page.locator("#assignee_id + .ts-wrapper .ts-control").click()  # a searchable picker: type, then tap
    page.keyboard.type("刘洋")
    page.locator("#assignee_id + .ts-wrapper .ts-dropdown .option").filter(has_text=f"{HANBIN} · 汉滨区").click()
    page.get_by_role("button", name="保存").click()

    arrive(page, re.compile(rf"{re.escape(base_url)}/followups/\d+$"))
    followup_url = page.url
    expect(page.locator(".alert-success")).to_contain_text("跟进任务已保存")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("dl")).to_contain_text(HANBIN)
    sign_out(page)
    expect(page).to_have_url(re.compile(r"/login$"))

    # The county user sees it among their follow-ups and completes it with what came out of it.
    enter(page, sign_in, base_url, "hanbin")
    go(page, "跟进任务", f"{base_url}/followups/mine")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的跟进")
    row = page.locator(".list-group-item").filter(has=page.get_by_role("link", name=title, exact=True))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(lead_name)
    expect(row).to_contain_text(due_shown)
    expect(row.locator(".badge")).to_have_text("高")
    row.get_by_role("link", name=title, exact=True).click()
    arrive(page, followup_url)
    expect(page.locator("dl")).to_contain_text(CITY)  # assigned by
    complete = page.locator("#complete")
    complete.get_by_label("跟进结果").fill(outcome)
    complete.get_by_label("方式").select_option(label="电话")
    complete.get_by_role("button", name="标记完成").click()

    arrive(page, f"{base_url}/followups/mine")
    expect(page.locator(".alert-success")).to_contain_text("已完成，并记入客商接洽记录")
    expect(page.get_by_role("link", name=title, exact=True)).to_have_count(0)

    # The outcome is now a call on the lead's timeline, and the follow-up shows as done.
    page.goto(followup_url)
    expect(page.locator("main .card").first.locator(".badge").first).to_have_text("已完成")
    page.get_by_role("link", name=lead_name, exact=True).click()
    arrive(page, f"{base_url}/leads/{lead_id}")
    call = page.locator("ul.timeline > li").filter(has_text=outcome)
    expect(call).to_have_count(1)
    expect(call).to_contain_text("电话")
    expect(call).to_contain_text(HANBIN)
    done = page.locator("ul.timeline > li.tl-followup").filter(has_text=title)
    expect(done).to_contain_text("已完成")
    assert page.js_errors == []


SEARCHES = {"phone": "医药", "desktop": "富硒"}


def open_facets(page):
    """On a phone the facets fold behind 筛选; tap it and let Bootstrap's collapse finish opening."""
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#search-facets")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    expect(page.locator("#search-facets")).not_to_have_class(re.compile(r"collapsing"))


def _total(page) -> int:
    counter = page.locator("#search-results").get_by_text(re.compile(r"^共 \d+ 条结果$"))
    expect(counter).to_be_visible()
    return int(re.search(r"\d+", counter.inner_text()).group())


def test_search_by_industry_and_narrow_with_a_county_facet(any_page, sign_in, base_url, viewport):
    page = any_page
    query = SEARCHES[viewport]
    enter(page, sign_in, base_url, "city")

    go(page, "搜索", f"{base_url}/search/")
    page.locator("#search-q").fill(query)  # results come as one types
    expect(page).to_have_url(re.compile(r"/search/\?q="))
    total = _total(page)
    assert total > 20, f"the demo city has many {query} leads and projects"
    results = page.locator("#search-results .list-group-item")
    expect(results).to_have_count(20)  # the first page
    marks = page.locator("#search-results mark")
    expect(marks.first).to_be_visible()
    expect(marks.first).to_contain_text(query)

    if viewport == "phone":  # the facets fold away behind a button on a narrow screen
        expect(page.locator("#search-facets")).to_be_hidden()
        open_facets(page)
    facets = page.locator("#search-facets")
    expect(facets).to_be_visible()
    counties = facets.locator("div.mb-3").filter(has=page.get_by_text("县区", exact=True)).locator("a")
    expect(counties.first).to_be_visible()
    # A county holding some but not all of the results.
    chosen = None
    for i in range(counties.count()):
        chip = counties.nth(i)
        count = int(chip.locator(".opacity-75").inner_text())
        if 0 < count < total:
            chosen, name, narrowed = chip, chip.inner_text().split()[0].lstrip("└"), count
            break
    assert chosen is not None, "some county holds part of the results"
    chosen.click()

    arrive(page, re.compile(r"[?&]county_id=\d+"))
    expect(page.locator("#search-q")).to_have_value(query)
    assert _total(page) == narrowed < total
    expect(results).to_have_count(min(narrowed, 20))
    for i in range(results.count()):
        expect(results.nth(i).locator("div.small.text-muted")).to_contain_text(name)
    expect(page.locator("#search-results mark").first).to_contain_text(query)
    if viewport == "phone":
        expect(page.get_by_role("button", name="筛选")).to_contain_text("1")  # one filter on
        open_facets(page)
    active = page.locator("#search-facets a.text-bg-primary")
    expect(active).to_have_count(1)
    expect(active).to_contain_text(name)
    assert page.js_errors == []


def test_county_user_works_the_spring_festival_outreach_list(any_page, sign_in, base_url, viewport):
    page = any_page
    note = f"微信拜年，对方说春节回安康看看（{viewport}）"

    # City staff make the 春节 list (making it again opens the one already there).
    enter(page, sign_in, base_url, "city")
    go(page, "节日走访", f"{base_url}/outreach/")
    page.get_by_label("节日").select_option(label="春节")
    year = page.get_by_label("年份").input_value()
    title = f"{year}年春节"
    page.get_by_role("button", name="生成名单").click()
    arrive(page, re.compile(r"/outreach/campaigns/\d+/progress$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    sign_out(page)

    # The county user greets the first person still waiting on their list.
    enter(page, sign_in, base_url, "hanbin")
    go(page, "节日走访", f"{base_url}/outreach/")
    campaign = page.locator(".list-group-item").filter(has_text=title)
    expect(campaign).to_have_count(1)
    campaign.get_by_role("link", name="我的问候名单").click()
    arrive(page, re.compile(r"/outreach/campaigns/\d+/mine$"))
    mine_url = page.url
    progress = page.locator('#outreach-counts [data-counter="done"]')
    expect(progress).to_have_text(re.compile(r"^\d+/\d+ 已完成$"))
    done_before, total = map(int, re.findall(r"\d+", progress.inner_text()))
    assert total > done_before, "hanbin has people left to greet"
    page.get_by_role("link", name=re.compile(r"^待问候 \d+$")).click()
    arrive(page, re.compile(r"/mine\?status=pending$"))
    card = page.locator(".outreach-card").first
    expect(card.locator(".badge.align-self-start")).to_have_text("待问候")
    item_id = card.get_attribute("id")
    card = page.locator(f"#{item_id}")  # stays the same card after htmx swaps it
    lead_name = card.locator(".fw-semibold a").inner_text()
    card.get_by_label("备注").fill(note)
    card.get_by_role("button", name="已问候").click()

    expect(card.locator(".alert-success")).to_have_text("已登记：已问候。")
    expect(card.locator(".badge.align-self-start")).to_have_text("已问候")
    expect(card).to_contain_text(note)
    expect(card.get_by_role("button", name="已问候")).to_have_count(0)  # nothing left to mark
    expect(progress).to_have_text(f"{done_before + 1}/{total} 已完成")  # the counter followed, no reload
    page.goto(mine_url)
    expect(page.get_by_text(f"{done_before + 1}/{total} 已完成")).to_be_visible()
    expect(page.locator(f"#{item_id} .badge.align-self-start")).to_have_text("已问候")

    # The greeting is on the lead's timeline.
    page.locator(f"#{item_id}").get_by_role("link", name=lead_name).click()
    arrive(page, re.compile(r"/leads/\d+$"))
    greeting = page.locator("ul.timeline > li").filter(has_text=note)
    expect(greeting).to_have_count(1)
    expect(greeting).to_contain_text("节日问候")
    expect(greeting).to_contain_text(f"{title}节日问候：已问候")
    expect(greeting).to_contain_text(HANBIN)
    assert page.js_errors == []
