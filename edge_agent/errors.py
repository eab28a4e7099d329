"""The one root of every error edge_agent raises on purpose.

Each module keeps its own precise subclasses beside the code that raises them, and each also
inherits the stdlib type a caller would expect (aioesphomeapi's shape):

    AgentError
    ├── ContractError(ValueError)      contract.py   an event or payload off the contract
    ├── CommandRejected(ValueError)    commands.py   a city command that must not run
    ├── MalformedJson(ValueError)      boundedjson.py  bytes that are not bounded JSON
    ├── LinkError(ConnectionError)     link.py       the broker could not be reached or was lost
    │   └── SetupError                 link.py       a local file the link needs is unusable
    │       ├── TlsSetupError          link.py       TLS files (fail-closed: never plaintext)
    │       └── PasswordFileError      link.py       mqtt.password_file
    ├── OutboxError                    outbox.py     the durable queue refused an event
    │   ├── OutboxFull                 outbox.py
    │   └── HeartbeatShed              outbox.py
    └── SchemaMismatch(RuntimeError)   schema.py     the outbox file is not what its version says

`except AgentError` catches only failures edge_agent has named; programming errors still surface.
"""

from __future__ import annotations


class AgentError(Exception):
    """Root of the errors edge_agent raises on purpose."""
