"""The config builder lives in common.typed_config (the city platform uses it too)."""

from common.typed_config import Check, Problem, build, convert, field, in_range, non_empty

__all__ = ["Check", "Problem", "build", "convert", "field", "in_range", "non_empty"]
