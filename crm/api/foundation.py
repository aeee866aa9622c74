"""API resources of the foundation: the caller (/me), counties and users."""
from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from crm.api.auth import actor
from crm.api.schemas import PageArgs, page_of, page_schema
from crm.extensions import db
from crm.services import counties, users
from crm.services.permissions import require

bp = Blueprint("api_foundation", __name__, url_prefix="/api/v1", description="Accounts and counties")


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    county_id = fields.Integer(allow_none=True)
    language = fields.String()
    can_verify = fields.Boolean(metadata={"description": "认定: may verify signings and funds in place"})


class CountySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    is_active = fields.Boolean()


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(required=True, validate=validate.Length(min=2, max=64))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(load_only=True, required=True, validate=validate.Length(max=128))
    role = fields.String(required=True, validate=validate.OneOf(users.ROLES))
    county_id = fields.Integer(allow_none=True, load_default=None)
    email = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=32))
    language = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))
    is_active = fields.Boolean(dump_only=True, attribute="is_active_user")
    can_verify = fields.Boolean(load_default=False, metadata={
        "description": "认定: may verify signings and funds in place (city staff and administrators only)"})


class UserQuery(PageArgs):
    role = fields.String(validate=validate.OneOf(users.ROLES))
    county_id = fields.Integer()


@bp.route("/me")
@bp.response(200, MeSchema)
def me():
    return actor()


@bp.route("/counties")
@bp.response(200, CountySchema(many=True))
def county_list():
    return counties.all_counties()


@bp.route("/users")
@bp.arguments(UserQuery, location="query")
@bp.response(200, page_schema(UserSchema, "UserPage"))
def user_list(args):
    require(actor(), "user.view_list")
    stmt = users.users_query(role=args.get("role"), county_id=args.get("county_id"))
    return page_of(db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False))


@bp.route("/users", methods=["POST"])
@bp.arguments(UserSchema)
@bp.response(201, UserSchema)
def user_create(data):
    return users.create_user(actor(), data, now=datetime.now(UTC))
