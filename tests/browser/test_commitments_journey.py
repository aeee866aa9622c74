"""履约 in a real browser (issue 15 items 2, 3), at the phone and the desktop width: a county user records a land
commitment on a signed project, then its delivery, and marks a service met; the city looks at the needs-attention
list, the 三未 list and the dashboard tiles. Screens are kept for the landing docs."""
from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

SHOTS = Path(os.environ.get("COMMITMENT_SHOTS", "/tmp/shots/commitments"))


def _shot(page, name: str, viewport: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{viewport}.png"), full_page=True)


def _signed_project(app) -> tuple[int, date]:
    from crm.extensions import db
    from crm.models import County, Project

    with app.app_context():
        hanbin = db.session.scalar(select(County.id).where(County.code == "610902"))
        project = db.session.scalars(select(Project).where(Project.county_id == hanbin, Project.stage == "started",
                                                           Project.deleted_at.is_(None))
                                     .order_by(Project.investment_total.desc())).first()
        signed = project.signed_on
        db.session.remove()
        return project.id, signed


def test_county_user_records_and_keeps_a_commitment(any_page, sign_in, base_url, live_server, viewport):
    page = any_page
    pid, signed = _signed_project(live_server)
    sign_in(page, "hanbin")
    page.goto(f"{base_url}/projects/{pid}/commitments")
    expect(page.get_by_role("heading", name="履约承诺")).to_be_visible()
    form = page.locator("#new form")
    form.get_by_label("承诺事项").select_option("land")
    form.get_by_label("承诺内容").fill(f"二期用地交付（{viewport}）")
    form.get_by_label("到期日").fill((signed - timedelta(days=3)).isoformat())  # before the signing: refused
    form.get_by_role("button", name="保存承诺").click()
    expect(page.locator("#new")).to_contain_text("早于项目签约日期")
    form = page.locator("#new form")
    form.get_by_label("到期日").fill((signed + timedelta(days=90)).isoformat())
    form.get_by_role("button", name="保存承诺").click()
    expect(page.locator(".alert-success")).to_contain_text("承诺已保存")
    item = page.locator(".list-group-item", has_text=f"二期用地交付（{viewport}）")
    expect(item).to_contain_text("逾期")
    item.locator("summary").click()
    item.get_by_label("日期").fill((signed + timedelta(days=60)).isoformat())
    item.get_by_label("备注").fill("净地交付，已签交地确认书")
    item.get_by_role("button", name="登记实绩").click()
    expect(page.locator(".alert-success")).to_contain_text("已登记实绩")
    item = page.locator(".list-group-item", has_text=f"二期用地交付（{viewport}）")
    expect(item).to_contain_text("已兑现")
    _shot(page, "commitments", viewport)
    assert not page.js_errors


def test_city_sees_health_and_the_three_not_list(any_page, sign_in, base_url, viewport):
    page = any_page
    sign_in(page, "city")
    expect(page.locator('[data-tile="health"]')).to_be_visible()
    page.locator('[data-tile="health"]').scroll_into_view_if_needed()
    _shot(page, "dashboard", viewport)
    page.goto(f"{base_url}/projects/attention?county_id=")
    expect(page.locator("[data-health]:visible").first).to_be_visible()
    _shot(page, "attention", viewport)
    page.goto(f"{base_url}/commitments/warnings")
    expect(page.locator("[data-warning]").first).to_be_visible()
    _shot(page, "warnings", viewport)
    page.goto(f"{base_url}/projects/")
    expect(page.locator("[data-health]:visible").first).to_be_visible()
    _shot(page, "project-list", viewport)
    page.goto(f"{base_url}/projects/kanban")
    _shot(page, "kanban", viewport)
    assert not page.js_errors
