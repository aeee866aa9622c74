"""Journeys of the foundation in a real browser: sign in, find one's way round in Chinese, sign out; an admin adds
a colleague. Each runs at the phone and the desktop width."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def open_menu_if_collapsed(page):
    """On a phone the navigation hides behind the toggler; a person taps it first."""
    toggler = page.locator(".navbar-toggler")
    menu = page.locator("#mainnav")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
    # Bootstrap animates the collapse; wait until it has settled open, or a tap lands on a moving menu.
    if toggler.is_visible():
        expect(menu).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    expect(menu).not_to_have_class(re.compile(r"collapsing"))
    expect(menu).to_be_visible()


def sign_out(page):
    open_menu_if_collapsed(page)
    page.locator("#mainnav .dropdown-toggle").filter(has=page.locator(".bi-person-circle")).click()
    page.get_by_role("button", name="退出登录").click()


def test_county_user_signs_in_sees_home_in_chinese_and_signs_out(any_page, sign_in, base_url, viewport):
    page = any_page
    sign_in(page, "hanbin")

    expect(page).to_have_url(f"{base_url}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_contain_text("您好，刘洋")
    if viewport == "phone":
        expect(page.locator("#mainnav")).to_be_hidden()
        page.locator(".navbar-toggler").tap()
        expect(page.locator("#mainnav")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"系统管理$"))).to_have_count(0)  # not an admin

    sign_out(page)

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".alert")).to_contain_text("您已退出登录")
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert page.js_errors == []


def test_wrong_password_is_refused_in_chinese(any_page, sign_in, base_url):
    page = any_page
    sign_in(page, "ziyang", "not-the-password")

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".alert")).to_contain_text("用户名或密码")
    assert page.js_errors == []


def test_admin_creates_a_county_user_through_the_admin_form(any_page, sign_in, base_url, viewport):
    page = any_page
    username = f"zhou_{viewport}"
    sign_in(page, "admin")

    open_menu_if_collapsed(page)
    page.get_by_role("button", name=re.compile(r"系统管理$")).click()
    page.get_by_role("link", name="用户", exact=True).click()
    page.get_by_role("link", name=re.compile("新建用户")).click()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("姓名").fill("周小琴")
    page.get_by_label("角色").select_option("county_staff")
    page.get_by_label("县区").select_option(label="紫阳县")
    page.get_by_label("初始密码").fill("Ziyang-2027-new")
    page.get_by_role("button", name="保存").click()

    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.locator(".alert")).to_contain_text(f"用户 {username} 已保存")
    expect(page.get_by_role("link", name=username)).to_be_visible()
    assert page.js_errors == []
