"""Shared hypothesis strategies for the ID-card driver tests."""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

from drivers.idcard.frames import (
    COMMAND_NAMES,
    MAX_DECLARED_LENGTH,
    PREAMBLE,
    Command,
    Frame,
    Response,
)

MAX_TEST_DATA_BYTES = 300
status_bytes = st.integers(min_value=0, max_value=255)

# A command is a known CMD PARA, or any bare non-zero CMD PARA (other vendors' requests): the
# wire has no direction bit, so longer unknown payloads are replies by definition (§2.1).
commands = st.one_of(
    st.sampled_from([Command(cmd, para) for cmd, para in COMMAND_NAMES]),
    st.builds(Command, cmd=st.integers(min_value=1, max_value=255), para=status_bytes),
)
# Replies with any SW1/SW2: vendor tables print `XX XX SW3`, and real readers send non-zero ones.
responses = st.builds(
    Response,
    sw3=status_bytes,
    data=st.binary(max_size=MAX_TEST_DATA_BYTES),
    sw1=status_bytes,
    sw2=status_bytes,
)
frames: st.SearchStrategy[Frame] = st.one_of(commands, responses)

# Noise that cannot contain a preamble (0xAA is its first byte and never appears).
noise = st.binary(max_size=64).map(lambda b: b.replace(b"\xaa", b"\x55"))

# Bytes biased towards the things that stress a resync: preambles, lengths, 0xAA runs.
hostile_bytes = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.just(PREAMBLE),
        st.just(b"\xaa\xaa"),
        st.integers(min_value=0, max_value=MAX_DECLARED_LENGTH + 10).map(
            lambda n: PREAMBLE + n.to_bytes(2, "big")
        ),
    ),
    max_size=12,
).map(b"".join)


@st.composite
def chunkings(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """`data` split at arbitrary points."""
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(data)), max_size=8)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]
