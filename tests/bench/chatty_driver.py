"""A chatty TCP driver for `transom bench driver-host`: every `key=value` line is a status change."""

from __future__ import annotations

from drivers.sdk import DelimiterTokenizer, Driver, Task


class ChattyDisplay(Driver):
    """Sets one status per line its device pushes, as a busy sensor or codec does."""

    generic_name = "Display"
    default_port = 4999
    tokenizer = DelimiterTokenizer(b"\n")

    async def received(self, data: bytes, task: Task | None) -> None:
        key, _, value = data.partition(b"=")
        self[key.decode()] = value.decode()
        if task is not None:
            task.success(value)

    async def ping(self) -> bool:
        await self.send(b"ping\n", wait=False)
        return True
