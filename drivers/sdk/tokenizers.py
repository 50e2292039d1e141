"""Tokenizers: turn the byte stream a device sends into whole messages for `received()`.

    Tokenizer               base: a bounded buffer, `feed(data) -> [messages]`
    ├── DelimiterTokenizer  messages end with one of several delimiters ("\\r\\n", b"\\x03")
    ├── FixedLengthTokenizer every message is N bytes
    ├── LengthPrefixTokenizer a length field in a header says how long the message is
    └── CallableTokenizer   a function finds the end of the first message

Every tokenizer frames the same messages however the stream is split into chunks, and
none holds more than `max_buffer` unframed bytes: past that the buffer is discarded and
`BufferOverflowError` raised, so a device flooding garbage cannot grow memory.
"""

from __future__ import annotations

import copy
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Literal

from drivers.sdk.errors import BufferOverflowError

# Far larger than any control-protocol reply, small enough that a hundred modules each
# holding a full buffer stay within a few MB.
DEFAULT_MAX_BUFFER = 64 * 1024


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


class Tokenizer(ABC):
    """A bounded buffer that yields whole messages; subclasses say where a message ends."""

    def __init__(self, *, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        if max_buffer <= 0:
            raise ValueError(f"max_buffer must be positive, not {max_buffer!r}")
        self.max_buffer = max_buffer
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add `data` and return every message it completes, oldest first.

        Raises:
            BufferOverflowError: more than `max_buffer` bytes remain unframed; they are
                discarded, and the error's `tokens` holds the messages framed before.
        """
        self._buffer += data
        tokens = self._extract()
        if len(self._buffer) > self.max_buffer:
            size = len(self._buffer)
            self.clear()
            raise BufferOverflowError(
                f"{type(self).__name__}: {size} bytes without a complete message "
                f"(max_buffer={self.max_buffer}); discarded",
                tokens,
            )
        return tokens

    @property
    def buffered(self) -> int:
        """How many bytes are waiting for the rest of their message."""
        return len(self._buffer)

    def clear(self) -> None:
        """Drop whatever is buffered (after a reconnect, say)."""
        self._buffer.clear()
        self._reset()

    def fresh(self) -> Tokenizer:
        """A tokenizer with the same rules and an empty buffer (one per connection)."""
        new = copy.copy(self)
        new._buffer = bytearray()
        new._reset()
        return new

    def _reset(self) -> None:  # noqa: B027 (a hook: most tokenizers keep no scan state)
        """Forget scan state kept between feeds; subclasses with such state override."""

    @abstractmethod
    def _extract(self) -> list[bytes]:
        """Remove complete messages from the front of `self._buffer` and return them."""


class DelimiterTokenizer(Tokenizer):
    """Messages end with a delimiter; with several, the earliest (then longest) one wins.

    A shorter delimiter that might be the start of a longer one (b"\\r" of b"\\r\\n") at the
    end of the buffer waits for the next byte, so chunk boundaries never change the result.

    Args:
        delimiter: one delimiter, or several; str is encoded as UTF-8.
        include_delimiter: keep the delimiter at the end of each message.
        max_buffer: the most unframed bytes held.
    """

    def __init__(
        self,
        delimiter: bytes | str | Sequence[bytes | str],
        *,
        include_delimiter: bool = False,
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        super().__init__(max_buffer=max_buffer)
        if isinstance(delimiter, bytes | str):
            delimiters = [_as_bytes(delimiter)]
        else:
            delimiters = sorted({_as_bytes(d) for d in delimiter}, key=len, reverse=True)
        if not delimiters or not all(delimiters):
            raise ValueError(f"delimiters must be non-empty, not {delimiter!r}")
        self.delimiters = delimiters
        self.include_delimiter = include_delimiter
        self._single = delimiters[0] if len(delimiters) == 1 else None
        self._pattern = re.compile(b"|".join(re.escape(d) for d in delimiters))
        self._longest = len(delimiters[0])
        self._scan = 0

    def _reset(self) -> None:
        self._scan = 0

    def _extract(self) -> list[bytes]:
        return self._extract_single(self._single) if self._single is not None else self._extract_many()

    def _extract_single(self, delimiter: bytes) -> list[bytes]:
        buf = self._buffer
        tokens: list[bytes] = []
        size = len(delimiter)
        start = 0
        scan = self._scan
        while True:
            end = buf.find(delimiter, scan)
            if end < 0:
                break
            tokens.append(bytes(buf[start : end + size if self.include_delimiter else end]))
            start = scan = end + size
        if start:
            del buf[:start]
        self._scan = max(0, len(buf) - size + 1)
        return tokens

    def _extract_many(self) -> list[bytes]:
        buf = self._buffer
        tokens: list[bytes] = []
        while True:
            match = self._pattern.search(buf, self._scan)
            if match is None:
                self._scan = max(0, len(buf) - self._longest + 1)
                return tokens
            if self._may_grow(match.start()):
                return tokens
            tokens.append(bytes(buf[: match.end() if self.include_delimiter else match.start()]))
            del buf[: match.end()]
            self._scan = 0

    def _may_grow(self, start: int) -> bool:
        """Whether a delimiter starting at or before `start` may complete with more data."""
        buf = self._buffer
        size = len(buf)
        for pos in range(max(0, size - self._longest + 1), start + 1):
            tail = buf[pos:]
            for delimiter in self.delimiters:
                if len(delimiter) > len(tail) and delimiter.startswith(tail):
                    return True
        return False


class FixedLengthTokenizer(Tokenizer):
    """Every message is exactly `length` bytes."""

    def __init__(self, length: int, *, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        if length <= 0:
            raise ValueError(f"length must be positive, not {length!r}")
        super().__init__(max_buffer=max(max_buffer, length))
        self.length = length

    def _extract(self) -> list[bytes]:
        buf = self._buffer
        n = self.length
        count = len(buf) // n
        if not count:
            return []
        tokens = [bytes(buf[i * n : (i + 1) * n]) for i in range(count)]
        del buf[: count * n]
        return tokens


class LengthPrefixTokenizer(Tokenizer):
    """A header holds the message length: `offset` bytes, then a `header_size`-byte integer.

    A frame is `offset + header_size + value + adjust` bytes long, where `value` is the
    integer read: `adjust=0` when the value counts the bytes after the length field (Modbus
    TCP: offset 4, size 2); `adjust=-(offset + header_size)` when it counts the whole frame;
    positive for a trailer (a checksum) it leaves out.

    Args:
        header_size: bytes in the length field (1, 2, 4 or 8).
        byteorder: "big" or "little".
        offset: bytes before the length field.
        adjust: added to the value to get the bytes after the length field.
        include_header: keep the bytes up to and including the length field in each message.
        max_buffer: the most unframed bytes held; a frame declared longer is an overflow.
    """

    def __init__(
        self,
        header_size: int,
        *,
        byteorder: Literal["big", "little"] = "big",
        offset: int = 0,
        adjust: int = 0,
        include_header: bool = True,
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        super().__init__(max_buffer=max_buffer)
        if header_size <= 0 or offset < 0:
            raise ValueError(f"bad header: size {header_size!r}, offset {offset!r}")
        self.header_size = header_size
        self.byteorder: Literal["big", "little"] = byteorder
        self.offset = offset
        self.adjust = adjust
        self.include_header = include_header

    def _extract(self) -> list[bytes]:
        buf = self._buffer
        tokens: list[bytes] = []
        head = self.offset + self.header_size
        start = 0
        while len(buf) - start >= head:
            value = int.from_bytes(buf[start + self.offset : start + head], self.byteorder)
            frame = max(head, head + value + self.adjust)
            if frame > self.max_buffer:
                del buf[:]
                raise BufferOverflowError(
                    f"LengthPrefixTokenizer: header declares a {frame}-byte frame "
                    f"(max_buffer={self.max_buffer}); buffer discarded",
                    tokens,
                )
            if len(buf) - start < frame:
                break
            tokens.append(bytes(buf[start + (0 if self.include_header else head) : start + frame]))
            start += frame
        if start:
            del buf[:start]
        return tokens


class CallableTokenizer(Tokenizer):
    """A function finds where the first message ends.

    `find_end(buffer)` returns the length of the first complete message in `buffer`, or 0
    (or less) when no message is complete yet. It must give the same answer whatever was
    appended after the message.
    """

    def __init__(self, find_end: Callable[[bytes], int], *, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        super().__init__(max_buffer=max_buffer)
        self.find_end = find_end

    def _extract(self) -> list[bytes]:
        buf = self._buffer
        tokens: list[bytes] = []
        while buf:
            end = self.find_end(bytes(buf))
            if end <= 0 or end > len(buf):
                break
            tokens.append(bytes(buf[:end]))
            del buf[:end]
        return tokens
