"""API resource: the caller's own notifications; list and mark read."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_of, page_schema
from crm.extensions import db
from crm.services import notifications

bp = Blueprint("api_notifications", __name__, url_prefix="/api/v1", description="The caller's notifications")


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    link = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationPage(page_schema(NotificationSchema, "NotificationPageBase")):
    unread = fields.Integer(metadata={"description": "the caller's unread count"})


class NotificationQuery(PageArgs):
    unread = fields.Boolean(load_default=False)


@bp.route("/notifications")
@bp.arguments(NotificationQuery, location="query")
@bp.response(200, NotificationPage)
def notification_list(args):
    stmt = notifications.notifications_query(actor(), unread_only=args["unread"])
    page = page_of(db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False))
    page["unread"] = notifications.unread_count(actor())
    return page


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@bp.response(200, NotificationSchema)
def notification_read(notification_id: int):
    return notifications.mark_read(actor(), notification_id, now=datetime.now(UTC))
