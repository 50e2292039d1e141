"""Running a firing's actions: function calls, then e-mails, then outgoing webhooks.

Each action's outcome is a dict `{action, ok, error?}` (`action` names it as the trigger
does: `functions.0`, `mailers`, `webhooks.1`); a failing action is recorded and never stops
the others, as PlaceOS's `State#update_state` does.

- Function calls resolve `mod` (`Display_1`) in the instance's system and run through the
  node's exec path (`ModuleManager.execute`: here or forwarded to the owning node) with
  admin clearance, PlaceOS's `RemoteDriver::Clearance::Admin`.
- E-mails go through the system's `smtp` setting (mailer.py); subject the trigger's name.
- Webhooks: `method` to `url` with `headers` and the rendered `body`; an attempt that gets
  no answer within `timeout`, or a 5xx, is retried up to `retries` times with a growing pause.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
import trio

from drivers.sdk import Level
from edge.config.site import SiteConfig
from edge.triggers.mailer import Mail, SmtpConfig, send_mail
from sync.model.addressing import parse_ref
from sync.triggers import Firing
from sync.triggers.actions import render, template_values

# Pause before the first webhook retry; doubled for each further one.
RETRY_PAUSE = 0.5

Execute = Callable[..., Awaitable[Any]]
"""`await execute(module_id, method, args, level=Level.ADMIN)` (ModuleManager.execute)."""

log = logging.getLogger(__name__)


class ActionRunner:
    """Performs firings' actions for one node (one pooled HTTP client for webhooks)."""

    def __init__(self, execute: Execute, *, http: httpx.AsyncClient | None = None) -> None:
        self.execute = execute
        self.http = http or httpx.AsyncClient()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def run(self, firing: Firing, trigger: Mapping[str, Any], site: SiteConfig) -> list[dict[str, Any]]:
        """Every action of `trigger` for `firing`; their outcomes, in order."""
        actions = trigger.get("actions", {})
        outcomes: list[dict[str, Any]] = []
        for n, call in enumerate(actions.get("functions", [])):
            outcomes.append(await self._outcome(f"functions.{n}", self._call(call, firing, site)))
        if actions.get("mailers"):
            outcomes.append(
                await self._outcome("mailers", self._mail(actions["mailers"], firing, trigger, site))
            )
        for n, hook in enumerate(actions.get("webhooks", [])):
            outcomes.append(await self._outcome(f"webhooks.{n}", self._webhook(hook, firing, trigger)))
        return outcomes

    async def _outcome(self, name: str, work: Awaitable[Any]) -> dict[str, Any]:
        try:
            result = await work
        except Exception as exc:
            return {"action": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"action": name, "ok": True, **({"result": result} if result is not None else {})}

    async def _call(self, call: Mapping[str, Any], firing: Firing, site: SiteConfig) -> Any:
        name, index = parse_ref(str(call["mod"]))
        module_id = site.resolve(firing.system_id, name, index)
        if module_id is None:
            raise LookupError(f"system {firing.system_id} has no module {call['mod']}")
        args = call.get("args") or {}
        return await self.execute(module_id, str(call["method"]), args, level=Level.ADMIN)

    async def _mail(
        self,
        mailers: Sequence[Mapping[str, Any]],
        firing: Firing,
        trigger: Mapping[str, Any],
        site: SiteConfig,
    ) -> None:
        config = SmtpConfig.from_settings(site.system_settings(firing.system_id))  # SmtpNotConfigured
        values = template_values(firing, trigger)
        subject = str(trigger.get("name", "trigger"))
        messages = [
            Mail(to=address, subject=subject, body=render(str(mailer.get("content", "")), values))
            for mailer in mailers
            for address in mailer.get("emails", [])
        ]
        await send_mail(config, messages)

    async def _webhook(
        self, hook: Mapping[str, Any], firing: Firing, trigger: Mapping[str, Any]
    ) -> dict[str, Any]:
        body = render(str(hook.get("body", "")), template_values(firing, trigger))
        retries = int(hook.get("retries", 2))
        timeout = float(hook.get("timeout", 10.0))
        problem = ""
        for attempt in range(retries + 1):
            if attempt:
                await trio.sleep(RETRY_PAUSE * 2 ** (attempt - 1))
            try:
                response = await self.http.request(
                    str(hook.get("method", "POST")),
                    str(hook["url"]),
                    headers=dict(hook.get("headers") or {}),
                    content=body.encode(),
                    timeout=timeout,
                )
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code < 500:
                if response.status_code >= 400:
                    raise RuntimeError(f"{hook['url']} answered {response.status_code}")
                return {"status": response.status_code, "attempts": attempt + 1}
            problem = f"{hook['url']} answered {response.status_code}"
        raise RuntimeError(f"{problem} (after {retries + 1} attempts)")
