"""Who a browser session is: the owner (``catalog`` owners) its runs, checkpoints and uploads belong to.

A class shares one server, and each student's work must stay their own. The identity is

* the login name, when ``rbm-explorer serve --basic-auth`` was given a users file (the server then sets
  ``$RBM_EXPLORER_LOGIN_USERS``, and Panel gives the name in ``pn.state.user``); a name may hold any character,
  so it becomes an owner id through ``catalog.owner_for_user``;
* otherwise a random id kept in the browser's cookie ``rbm_explorer_id``: the server reads it from the request
  that opened the session (``pn.state.cookies``); when it is missing or malformed, the server draws a new one,
  uses it for the whole session, and ``IdentityCookie`` stores it in the browser, so that the next session of
  the same browser is the same owner.

The cookie is a convenience, not a security boundary: anyone who copies a cookie value is that student. A
single class password (``--basic-auth PASSWORD``) names nobody, so it leaves the cookie as the identity.
"""

from __future__ import annotations

import os
import re
import secrets

import panel as pn
import param
from panel.custom import JSComponent

from rbm_explorer.catalog import owner_for_user
from rbm_explorer.cli.serve import LOGIN_USERS_ENV

COOKIE_NAME = "rbm_explorer_id"
COOKIE_MAX_AGE_S = 365 * 24 * 3600  # a year: a student's browser stays the same owner for the school year
BROWSER_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def valid_browser_id(value) -> bool:
    """Whether a cookie value can be an owner id: 16 to 64 letters, digits, '_' or '-' (no path, no quote)."""
    return isinstance(value, str) and bool(BROWSER_ID.match(value))


def new_browser_id() -> str:
    """A fresh random id (128 bits, 22 URL-safe characters)."""
    return secrets.token_urlsafe(16)


def resolve_identity(cookies: dict, user: str | None, login_names_users: bool) -> tuple[str, str | None]:
    """(owner, id the browser must store or None) for a session opened with ``cookies`` by ``user``: the user
    name when the login names users, else the cookie's id when it is well formed, else a new id."""
    if login_names_users and user:
        return owner_for_user(user), None
    browser_id = cookies.get(COOKIE_NAME)
    if not valid_browser_id(browser_id):
        browser_id = new_browser_id()
    return browser_id, browser_id


def session_identity() -> tuple[str | None, str | None]:
    """The current served session's (owner, id to store in the cookie); (None, None) when not served (tests
    and notebooks: the machine's single user)."""
    if pn.state.curdoc is None or pn.state.curdoc.session_context is None:
        return None, None
    login = os.environ.get(LOGIN_USERS_ENV) == "1"
    try:
        user = pn.state.user if login else None
    except Exception:  # no cookie secret, or a cookie that does not decode: no login name
        user = None
    return resolve_identity(dict(pn.state.cookies or {}), user, login)


class IdentityCookie(JSComponent):
    """Nothing to see: it stores ``browser_id`` in the browser's ``rbm_explorer_id`` cookie (for a year, on every
    path of the server, not sent to other sites' requests), renewed at every session."""

    browser_id = param.String(default="")
    cookie_name = param.String(default=COOKIE_NAME, constant=True)
    max_age = param.Integer(default=COOKIE_MAX_AGE_S, constant=True)

    _esm = """
    export function render({ model }) {
      const id = model.browser_id;
      if (/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
        document.cookie = `${model.cookie_name}=${id}; path=/; max-age=${model.max_age}; SameSite=Lax`;
      }
      return document.createElement("span");
    }
    """
