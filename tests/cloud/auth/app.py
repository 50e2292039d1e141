"""A minimal app for HTTP tests: the auth router plus protected routes of each kind."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, WebSocket
from fastapi.responses import JSONResponse

from cloud.auth.dependencies import (
    add_auth_error_handlers,
    current_principal,
    require_role,
    require_scope,
    websocket_principal,
)
from cloud.auth.redaction import redact_for
from cloud.auth.routes import router
from cloud.auth.service import AuthService
from cloud.auth.users import without_secrets
from sync.model import Role
from sync.principal import Principal

# Settings documents of each encryption level, as the API would load them.
SETTINGS = {
    level: {
        "id": f"sets-{level.upper()[:6]}",
        "encryption_level": level,
        "settings_string": f"secret_of_{level}: 1",
    }
    for level in ("none", "support", "admin", "never_display")
}


def build_app(auth: AuthService) -> FastAPI:
    app = FastAPI()
    app.state.auth = auth
    add_auth_error_handlers(app)
    app.include_router(router)

    @app.get("/api/test/me")
    async def me(principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        return {
            "user_id": principal.user_id,
            "role": principal.role.value,
            "via": principal.via,
            "scopes": sorted(principal.scopes),
            "name": principal.name,
        }

    @app.get("/api/test/support")
    async def support_only(principal: Principal = Depends(require_role(Role.SUPPORT))) -> dict[str, str]:
        return {"ok": principal.role.value}

    @app.post("/api/test/users")
    async def create_user(
        body: dict[str, str], principal: Principal = Depends(require_role(Role.ADMIN))
    ) -> dict[str, Any]:
        return without_secrets(await auth.create_user(name=body["name"], email=body.get("email", "")))

    @app.get("/api/test/systems")
    async def read_systems(principal: Principal = Depends(require_scope("systems", False))) -> list[str]:
        return []

    @app.post("/api/test/systems")
    async def write_systems(principal: Principal = Depends(require_scope("systems", True))) -> list[str]:
        return []

    @app.get("/api/test/settings/{level}")
    async def settings(level: str, principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        return redact_for(principal, SETTINGS[level])

    @app.post("/api/test/exec/{level}")
    async def execute(level: str, principal: Principal = Depends(current_principal)) -> JSONResponse:
        if not principal.may_call(level):
            return JSONResponse({"error": "access_denied", "message": f"needs {level}"}, status_code=403)
        return JSONResponse({"executed": level})

    @app.websocket("/api/test/control")
    async def control(websocket: WebSocket, principal: Principal = Depends(websocket_principal)) -> None:
        await websocket.accept()
        await websocket.send_json({"user_id": principal.user_id, "via": principal.via})
        await websocket.close()

    return app
