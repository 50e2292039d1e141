"""The small HTML login form shown by /auth/login and by /auth/oauth/authorize without a session."""

from __future__ import annotations

from html import escape

# Same-origin framing only (Backoffice runs the authorize page in a hidden iframe);
# no scripts, no outside resources; the form posts back to us only.
SECURITY_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'self'"
    ),
    "Cache-Control": "no-store",
    # Not no-referrer: under it browsers send `Origin: null` with the form's POST, which
    # the login's CSRF check must refuse. same-origin still sends nothing to other sites.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f5f7; display: flex;
       justify-content: center; padding-top: 10vh; margin: 0; }}
form {{ background: #fff; padding: 2em; border-radius: 8px; box-shadow: 0 1px 4px #0002;
       width: 20em; display: flex; flex-direction: column; gap: .6em; }}
input {{ padding: .5em; font-size: 1em; }}
button {{ padding: .6em; font-size: 1em; cursor: pointer; }}
.error {{ color: #b00020; }}
</style></head>
<body><form method="post" action="/auth/login">
<h1>{title}</h1>
{error}<label for="username">User name or e-mail</label>
<input id="username" name="username" autocomplete="username" value="{username}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="continue" value="{continue_url}">
<button type="submit">Sign in</button>
</form></body></html>
"""


def login_page(*, title: str, continue_url: str, error: str = "", username: str = "") -> str:
    """The login form, posting to /auth/login and then going on to `continue_url`."""
    return _PAGE.format(
        title=escape(title),
        error=f'<p class="error" role="alert">{escape(error)}</p>\n' if error else "",
        username=escape(username),
        continue_url=escape(continue_url),
    )
