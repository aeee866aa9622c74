"""Display labels for project, event and report code names and the money filters (万元 → 亿元)."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

STAGE_LABELS = {"planned": _l("Planned"), "negotiating": _l("Negotiating"), "signed": _l("Signed"),
                "started": _l("Started"), "operating": _l("Operating"), "dropped": _l("Dropped")}
STAGE_COLOURS = {"planned": "secondary", "negotiating": "info", "signed": "primary", "started": "success",
                 "operating": "success", "dropped": "dark"}
CHANNEL_LABELS = {"chamber": _l("Chamber of commerce"), "adviser": _l("Senior adviser"),
                  "hometown": _l("Hometown entrepreneur"), "intermediary": _l("Intermediary"),
                  "event": _l("Promotion event"), "self": _l("Self-referred"), "superior": _l("Passed down from above"),
                  "visit": _l("Door-knocking visit")}
METRIC_LABELS = {"signed_count": _l("Signed projects"), "signed_investment": _l("Signed investment (10k yuan)"),
                 "funds_in_place": _l("Funds in place (10k yuan)"),
                 "out_of_province_funds": _l("Out-of-province funds (10k yuan)"),
                 "foreign_enterprises": _l("New foreign-invested enterprises"),
                 "foreign_capital": _l("Foreign capital (10k USD)")}
TEN_THOUSAND = Decimal(10_000)


def label(mapping: dict, code) -> str:
    return str(mapping.get(code, code or ""))


def yi(value) -> str:
    """万元 shown as 亿元 with two decimals."""
    amount = Decimal(value or 0) / TEN_THOUSAND
    return _("%(n)s hundred million yuan", n=format_decimal(amount.quantize(Decimal("0.01")), format="#,##0.00"))


def money(value) -> str:
    """万元: as 亿元 with two decimals where large (≥ 1亿), else in 万元."""
    amount = Decimal(value or 0)
    if abs(amount) >= TEN_THOUSAND:
        return yi(amount)
    return _("%(n)s ten thousand yuan", n=format_decimal(amount.quantize(Decimal("0.01")), format="#,##0.00"))


def usd(value) -> str:
    return _("%(n)s ten thousand USD", n=format_decimal(Decimal(value or 0).quantize(Decimal("0.01")), format="#,##0.00"))


def percent(ratio) -> str:
    return "—" if ratio is None else f"{ratio * 100:.2f}%"


def template_globals() -> dict:
    return {"stage_labels": STAGE_LABELS, "stage_colours": STAGE_COLOURS, "channel_labels": CHANNEL_LABELS,
            "metric_labels": METRIC_LABELS, "plabel": label}


FILTERS = {"yi": yi, "money": money, "usd": usd, "percent": percent}
