"""The CLI's two consoles, so every command prints the same way.

Messages soft-wrap: a long line goes out whole and the terminal wraps it at its own
width, instead of rich breaking it mid-phrase at 80 columns when it cannot tell the
width (output piped to a file or another program). Tables still fit the width rich sees.
"""

from __future__ import annotations

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
