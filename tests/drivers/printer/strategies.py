"""Hypothesis strategies for ESC/POS commands, shared by the printer tests."""

from __future__ import annotations

from hypothesis import strategies as st

from drivers.printer import frames as f

# Every GB 18030-encodable character that is not a control (surrogates cannot be encoded).
printable_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80
)
qr_payloads = st.binary(min_size=1, max_size=f.MAX_QR_PAYLOAD_BYTES)


@st.composite
def rasters(draw: st.DrawFn) -> f.RasterImage:
    """Small raster images (any width up to the head, a few rows)."""
    width = draw(st.integers(1, f.MAX_WIDTH_BYTES))
    height = draw(st.integers(1, 4))
    data = draw(st.binary(min_size=width * height, max_size=width * height))
    return f.RasterImage(width, height, data, draw(st.integers(0, 3)))


commands: st.SearchStrategy[f.Command] = st.one_of(
    st.just(f.Initialize()),
    st.builds(f.ChineseMode, st.booleans()),
    st.builds(f.CodePage, st.integers(0, 255)),
    st.builds(f.Bold, st.booleans()),
    st.builds(f.CharacterSize, st.integers(1, 8), st.integers(1, 8)),
    st.builds(f.Justify, st.sampled_from(f.Align)),
    st.just(f.LineFeed()),
    st.builds(f.FeedLines, st.integers(0, 255)),
    st.builds(f.Cut, st.booleans(), st.integers(0, 255)),
    printable_text.map(f.text),
    st.builds(f.QrModel, st.sampled_from([49, 50, 51])),
    st.builds(f.QrModuleSize, st.integers(1, 16)),
    st.builds(f.QrErrorCorrection, st.sampled_from(f.QrErrorLevel)),
    qr_payloads.map(f.QrStore),
    st.just(f.QrPrint()),
    rasters(),
    st.builds(f.StatusRequest, st.sampled_from(f.StatusKind)),
)


def merge_text(commands: list[f.Command]) -> list[f.Command]:
    """Adjacent Text commands are one run on the wire: what the decoder gives back."""
    merged: list[f.Command] = []
    for command in commands:
        previous = merged[-1] if merged else None
        if isinstance(command, f.Text) and isinstance(previous, f.Text):
            merged[-1] = f.Text(previous.data + command.data)
        else:
            merged.append(command)
    return merged
