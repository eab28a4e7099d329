"""edge_agent has one exception root, and each error is also the stdlib type callers expect."""

from __future__ import annotations

import pytest

from edge_agent.boundedjson import MalformedJson
from edge_agent.commands import CommandRejected
from edge_agent.contract import ContractError
from edge_agent.errors import AgentError
from edge_agent.link import LinkError, TlsSetupError
from edge_agent.outbox import HeartbeatShed, OutboxError, OutboxFull
from edge_agent.schema import SchemaMismatch


@pytest.mark.parametrize(
    ("error", "stdlib"),
    [
        (ContractError, ValueError),
        (CommandRejected, ValueError),
        (MalformedJson, ValueError),
        (LinkError, ConnectionError),
        (TlsSetupError, ConnectionError),
        (OutboxError, Exception),
        (OutboxFull, Exception),
        (HeartbeatShed, Exception),
        (SchemaMismatch, RuntimeError),
    ],
)
def test_every_error_has_the_one_root_and_its_stdlib_type(
    error: type[Exception], stdlib: type[Exception]
) -> None:
    """`except AgentError` catches each named error; `except <stdlib type>` still does too."""
    assert issubclass(error, AgentError)
    assert issubclass(error, stdlib)


def test_outbox_and_link_subclasses_keep_their_parents() -> None:
    """OutboxFull/HeartbeatShed are OutboxErrors; TlsSetupError is a LinkError."""
    assert issubclass(OutboxFull, OutboxError)
    assert issubclass(HeartbeatShed, OutboxError)
    assert issubclass(TlsSetupError, LinkError)
