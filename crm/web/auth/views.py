"""Sign-in, sign-out, password change, the user's profile and API tokens."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from crm.services import auth, tokens, users
from crm.services.errors import AuthError, InvalidInput
from crm.web.auth.forms import ChangePasswordForm, LoginForm, ProfileForm, TokenForm
from crm.web.forms import populate_errors
from crm.web.redirects import safe_path

bp = Blueprint("auth", __name__)

AUTH_MESSAGES = {
    "bad_credentials": _l("Wrong username or password."),
    "locked": _l("Too many failed attempts for this username from your address: signing in with it from here is locked "
                  "for a while. Try again later, or ask an administrator to reset the password."),
    "throttled": _l("Too many failed attempts from your network. Please wait a few minutes."),
    "inactive": _l("This account has been deactivated."),
}


def safe_next(target: str | None) -> str:
    """Only same-site paths (crm/web/redirects.py)."""
    return safe_path(target, url_for("home.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = auth.authenticate(form.username.data, form.password.data, ip=request.remote_addr or "",
                                     now=datetime.now(UTC))
        except AuthError as error:
            flash(str(AUTH_MESSAGES[error.reason]), "danger")
        else:
            session.clear()  # a fresh session: no fixation
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    auth.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    if code in ("zh", "en"):
        session["language"] = code
        if current_user.is_authenticated:
            users.update_user(current_user._get_current_object(), current_user.id, {"language": code})
    return redirect(safe_next(request.form.get("next")))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            auth.change_password(current_user._get_current_object(), form.current_password.data,
                                 form.new_password.data, now=datetime.now(UTC))
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            login_user(current_user._get_current_object())  # the session token rotated: re-issue ours
            flash(_("Password changed. Other sessions have been signed out."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/password.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        try:
            users.update_user(user, user.id, {"display_name": form.display_name.data, "email": form.email.data,
                                              "phone": form.phone.data, "language": form.language.data})
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            flash(_("Profile saved."), "success")
            return redirect(url_for("auth.profile"))
    return _profile_page(form, new_token=None)


def _profile_page(form: ProfileForm, *, new_token: str | None):
    user = current_user._get_current_object()
    return render_template("auth/profile.html", form=form, token_form=TokenForm(), tokens=tokens.tokens_of(user),
                           new_token=new_token)


@bp.route("/profile/tokens", methods=["POST"])
@login_required
def create_token():
    """Shown once, in this response only; never stored in the session cookie."""
    form = TokenForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.profile"))
    user = current_user._get_current_object()
    try:
        plain = tokens.create_token(user, user, name=form.name.data or "", now=datetime.now(UTC))
    except InvalidInput as error:
        for messages in error.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return redirect(url_for("auth.profile"))
    return _profile_page(ProfileForm(obj=user, formdata=None), new_token=plain)


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    tokens.revoke_token(current_user._get_current_object(), token_id, now=datetime.now(UTC))
    flash(_("Token revoked."), "info")
    return redirect(url_for("auth.profile"))
