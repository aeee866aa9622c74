"""The start page: the quick "log a visit" button and today's follow-up counts for staff, not for leaders."""
from __future__ import annotations


def test_home_for_county_staff_offers_log_a_visit_and_counts(login_as):
    page = login_as("county_staff").get("/").get_data(as_text=True)
    assert "登记接洽" in page and "已逾期" in page and "今天到期" in page


def test_home_for_leader_has_no_visit_button_nor_follow_up_counts(login_as):
    page = login_as("viewer", None).get("/").get_data(as_text=True)
    assert "登记接洽" not in page and "已逾期" not in page and "统计报表" in page
