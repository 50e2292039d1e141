"""Tokenizers frame the same messages however the stream is split, and stay bounded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.sdk import (
    BufferOverflowError,
    CallableTokenizer,
    DelimiterTokenizer,
    FixedLengthTokenizer,
    LengthPrefixTokenizer,
    Tokenizer,
)


def feed_all(tokenizer: Tokenizer, chunks: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for chunk in chunks:
        out.extend(tokenizer.feed(chunk))
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks, last = [], 0
    for point in points:
        chunks.append(data[last:point])
        last = point
    chunks.append(data[last:])
    return chunks


def test_delimiter_single() -> None:
    t = DelimiterTokenizer("\r\n")
    assert t.feed(b"PWR=1\r\nPWR") == [b"PWR=1"]
    assert t.feed(b"=0\r") == []
    assert t.feed(b"\n") == [b"PWR=0"]
    assert t.buffered == 0


def test_delimiter_keeps_it_when_asked() -> None:
    t = DelimiterTokenizer(b"\x03", include_delimiter=True)
    assert t.feed(b"\x02a\x03\x02b\x03") == [b"\x02a\x03", b"\x02b\x03"]


def test_several_delimiters_earliest_then_longest() -> None:
    t = DelimiterTokenizer(["\r", "\r\n", "\n"])
    assert t.feed(b"a\r\nb\nc\r") == [b"a", b"b"]  # the last "\r" may be the start of "\r\n"
    assert t.feed(b"d") == [b"c"]
    assert t.feed(b"\r\n") == [b"d"]


def test_fixed_length() -> None:
    t = FixedLengthTokenizer(3)
    assert t.feed(b"abcdefg") == [b"abc", b"def"]
    assert t.feed(b"hi") == [b"ghi"]


def test_length_prefix_modbus_tcp_style() -> None:
    # transaction(2) protocol(2) length(2) then `length` bytes: unit id + pdu
    t = LengthPrefixTokenizer(2, offset=4)
    frame = b"\x00\x01\x00\x00\x00\x03\x01\x03\x00"
    assert t.feed(frame + frame[:5]) == [frame]
    assert t.feed(frame[5:]) == [frame]


def test_length_prefix_counting_whole_frame_little_endian_without_header() -> None:
    t = LengthPrefixTokenizer(2, byteorder="little", adjust=-2, include_header=False)
    assert t.feed(b"\x05\x00abc\x04\x00d") == [b"abc"]
    assert t.feed(b"e") == [b"de"]


def test_callable() -> None:
    def find_end(buffer: bytes) -> int:  # messages are "<...>"
        end = buffer.find(b">")
        return end + 1 if end >= 0 else 0

    t = CallableTokenizer(find_end)
    assert t.feed(b"<a><b") == [b"<a>"]
    assert t.feed(b">") == [b"<b>"]


def test_overflow_discards_and_keeps_framed_messages() -> None:
    t = DelimiterTokenizer(b"\n", max_buffer=16)
    with pytest.raises(BufferOverflowError) as caught:
        t.feed(b"ok\n" + b"x" * 20)
    assert caught.value.tokens == [b"ok"]
    assert t.buffered == 0
    assert t.feed(b"next\n") == [b"next"]


def test_length_prefix_declaring_a_huge_frame_overflows_at_once() -> None:
    t = LengthPrefixTokenizer(4, max_buffer=1024)
    with pytest.raises(BufferOverflowError, match="declares"):
        t.feed(b"\xff\xff\xff\xff")
    assert t.buffered == 0


def test_garbage_flood_stays_bounded() -> None:
    t = DelimiterTokenizer(b"\r\n", max_buffer=4096)
    overflows = 0
    for _ in range(1000):
        try:
            t.feed(b"\x00" * 1000)
        except BufferOverflowError:
            overflows += 1
        assert t.buffered <= 4096
    assert overflows > 0


def test_fresh_copy_has_its_own_buffer() -> None:
    template = DelimiterTokenizer(b"\n")
    template.feed(b"half")
    copy = template.fresh()
    assert copy.buffered == 0
    assert copy.feed(b"x\n") == [b"x"]


TOKENIZERS = {
    "delimiter": lambda: DelimiterTokenizer(b"\r\n"),
    "delimiters": lambda: DelimiterTokenizer([b"\r\n", b"\r", b"ab", b"abc", b"c"]),
    "fixed": lambda: FixedLengthTokenizer(5),
    "prefix": lambda: LengthPrefixTokenizer(1, offset=1, adjust=1),
    "callable": lambda: CallableTokenizer(lambda b: b[0] + 1 if len(b) > b[0] else 0),
}


@pytest.mark.parametrize("kind", sorted(TOKENIZERS))
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(min_value=0), max_size=30))
def test_any_split_gives_the_same_tokens(kind: str, data: bytes, cuts: list[int]) -> None:
    whole = TOKENIZERS[kind]()
    expected = whole.feed(data)
    chunked = TOKENIZERS[kind]()
    assert feed_all(chunked, split(data, cuts)) == expected
    assert chunked.buffered == whole.buffered


@settings(max_examples=100, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"a", b"b", b"c", b"\r", b"\n", b"x"]), max_size=200).map(b"".join),
    cuts=st.lists(st.integers(min_value=0), max_size=40),
)
def test_overlapping_delimiters_split_invariant_dense(data: bytes, cuts: list[int]) -> None:
    make = TOKENIZERS["delimiters"]
    assert feed_all(make(), split(data, cuts)) == make().feed(data)
