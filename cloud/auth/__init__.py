"""Cloud authentication and authorisation, PlaceOS-shaped: OAuth2, JWTs, API keys, roles.

Who a caller is once checked (`Principal`, roles, scopes) is shared with the edge's local API:
sync/principal.py.

errors.py        the error hierarchy
passwords.py     argon2 password hashing
keys.py          the persisted secret, the Ed25519 JWT key derived from it, JWKS
tokens.py        access-token and session-cookie JWTs (PlaceOS claims)
api_keys.py      the `<key id>.<secret>` API key format
auth_db.py       auth's own SQLite bookkeeping (OAuth apps, refresh tokens, codes, revocations)
rate_limit.py    login attempts limited per account and per address
users.py         users and authorities: create, resolve a login name, check a password
oauth_apps.py    OAuth applications by redirect URI (client_id = md5), scopes
pkce.py          PKCE code-challenge checks
service.py       AuthService: the one object routes and the API talk to
bootstrap.py     start-up: data-dir secret and db, first admin, Backoffice's app
dependencies.py  FastAPI dependencies: current_principal, require_role, require_scope
params.py        OAuth parameters from the query string, form or JSON body
grants.py        the token endpoint's grant types
login_page.py    the small HTML login form
routes.py        /auth/authority, /auth/login, /auth/oauth/{authorize,token,revoke}, /auth/logout
redaction.py     settings as a principal may see them
"""
