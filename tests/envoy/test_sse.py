"""Tests of `gem_envoy.envoy.sse`: the events of a stream, however its bytes are cut."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gem_envoy.envoy.sse import SseDecoder


def decode(*chunks: bytes, max_event_bytes: int = 64 * 1024) -> list[str]:
    decoder = SseDecoder(max_event_bytes)
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_one_event_per_blank_line() -> None:
    assert decode(b'data: {"a":1}\n\ndata: {"b":2}\n\n') == ['{"a":1}', '{"b":2}']


def test_an_event_is_returned_by_the_read_that_completes_it() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"data: one") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\ndata: tw") == ["one"]
    assert decoder.feed(b"o\n\n") == ["two"]


def test_line_endings_crlf_and_bare_cr() -> None:
    assert decode(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n") == ["a", "b", "c"]


def test_crlf_split_between_two_reads_is_one_line_ending() -> None:
    # Read as two endings, "data: a\r" + "\n" would end the event early; as one, it does not.
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n\r") == ["a\nb"]
    assert decoder.feed(b"\n") == []  # the \n of that \r\n, not a second blank line


def test_data_with_or_without_its_space_and_several_lines_joined() -> None:
    assert decode(b"data:x\ndata:  y\ndata\n\n") == ["x\n y\n"]


def test_comments_and_other_fields_are_ignored() -> None:
    stream = b": keep-alive\n\nevent: meter\nid: 7\nretry: 10\n: note\ndata: v\n\n"
    assert decode(stream) == ["v"]


def test_a_blank_line_without_data_is_no_event() -> None:
    assert decode(b"\n\n\r\n: ping\n\n") == []


def test_a_leading_byte_order_mark_is_dropped() -> None:
    assert decode("\ufeffdata: v\n\n".encode()) == ["v"]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode(b"data: \xff\n\n") == ["\ufffd"]


def test_an_event_over_the_cap_is_dropped_and_the_next_one_delivered() -> None:
    decoder = SseDecoder(max_event_bytes=100)
    big = b"data: " + b"x" * 60 + b"\n"
    assert decoder.feed(big) == []
    assert decoder.feed(big) == []  # past the cap: dropped from here to the blank line
    assert decoder.feed(b"x" * 10_000) == []
    assert decoder.discarded == 1
    assert decoder.feed(b"\n\ndata: next\n\n") == ["next"]


def test_an_event_that_never_ends_is_not_buffered_on() -> None:
    decoder = SseDecoder(max_event_bytes=1000)
    for _ in range(1000):
        assert decoder.feed(b"data: " + b"y" * 1000) == []
    assert len(decoder._line) == 0 and not decoder._data
    assert decoder.discarded == 1


def test_an_event_just_under_the_cap_is_delivered() -> None:
    payload = "z" * 90
    assert decode(f"data: {payload}\n\n".encode(), max_event_bytes=100) == [payload]


# ---------------------------------------------------------------------------------------------
# Any cut of a stream into reads gives the same events.

_line_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=30
)
_payloads = st.lists(st.lists(_line_text, min_size=1, max_size=3), max_size=6)
_eol = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def _streams(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A stream of events (with comments and fields to ignore), and the events it holds."""
    out = bytearray()
    events = []

    def eol() -> bytes:
        ending = draw(_eol)
        # A bare \r then a \n would be one line ending, \r\n: write that instead.
        return b"\r\n" if ending == b"\n" and out.endswith(b"\r") else ending

    for lines in draw(_payloads):
        if draw(st.booleans()):
            out += b": comment" + eol()
        for line in lines:
            space = draw(st.sampled_from(["", " "]))
            # Without the space, a line starting with a space would lose it: keep it then.
            prefix = "data: " if line.startswith(" ") else f"data:{space}"
            out += (prefix + line).encode() + eol()
            if draw(st.booleans()):
                out += b"id: 1" + eol()
        out += eol()
        events.append("\n".join(lines))
    return bytes(out), events


@settings(max_examples=300, deadline=None)
@given(stream=_streams(), data=st.data())
def test_any_split_into_reads_gives_the_same_events(
    stream: tuple[bytes, list[str]], data: st.DataObject
) -> None:
    raw, events = stream
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert decode(*chunks) == events
    assert decode(*(raw[i : i + 1] for i in range(len(raw)))) == events
