"""Shared hypothesis strategies for BP frames."""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from drivers.bp import omron9030, suntech

vital = st.integers(min_value=0, max_value=0xFFFF)

suntech_results = st.builds(
    suntech.ResultFrame,
    systolic=vital,
    diastolic=vital,
    pulse=vital,
    mean=vital,
    return_code=st.integers(min_value=0, max_value=255),
    opaque_head=st.binary(min_size=10, max_size=10),
    opaque_tail=st.binary(min_size=2, max_size=2),
)

suntech_device_frames = st.one_of(
    suntech_results.map(lambda r: r.encode()),
    st.integers(min_value=-0x8000, max_value=0x7FFF).map(suntech.cuff_pressure_frame),
    st.sampled_from(sorted(suntech.ACK_MEANINGS)).map(suntech.ack_frame),
    st.sampled_from(
        [
            suntech.START_REQUEST,
            suntech.ABORT_REQUEST,
            suntech.RESULT_REQUEST,
            suntech.CUFF_PRESSURE_REQUEST,
        ]
    ),
)

id_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters=","),
    min_size=0,
    max_size=20,
)
three_digits = st.integers(min_value=0, max_value=999)

omron_lines = st.builds(
    omron9030.ReadingLine,
    taken_at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda t: t.replace(second=0, microsecond=0)
    ),
    error_code=st.integers(min_value=0, max_value=9),
    systolic=three_digits,
    diastolic=three_digits,
    pulse=three_digits,
    movement_count=st.integers(min_value=0, max_value=9),
    subject_id=id_text,
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """Split `data` at the given (sorted, deduplicated) cut positions."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return pieces
