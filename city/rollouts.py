"""Publishing a catalogue or UI texts: documents, diffs, staged rollouts, promotion, rollback.

A rollout sends one published document (`config_documents`) to the kiosks a selector names
(city/selector.py). Staged: the kiosks of one centre first (stage 1); the rest (stage 2) are
held until an operator promotes, or — with `auto_promote` — until every stage-1 kiosk applied
it. Each kiosk's state is that of its latest command attempt (city/commands.py). Rollback
sends every kiosk that got (or may have got) the document the version it ran before, when the
city knows that version's content, and cancels what was not sent yet.
"""

from __future__ import annotations

import difflib
import functools
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from city.selector import Selector, resolve
from city.upload import KINDS, ConfigKind, ValidDocument

MAX_DIFF_LINES = 400


class PublishError(ValueError):
    """The request cannot be carried out; the message says why, for people."""


@dataclass(frozen=True)
class Document:
    """A published document."""

    id: int
    kind: str
    version: str
    content: str
    sha256: str
    summary: dict[str, Any]
    uploaded_at: datetime
    uploaded_by: str


def store_document(conn: psycopg.Connection, doc: ValidDocument, by: str) -> Document:
    """Keep a validated document (the same version and content again is the same row)."""
    existing = find_document(conn, doc.kind, doc.version)
    if existing is not None:
        if existing.sha256 != doc.sha256:
            raise PublishError(
                f"{doc.kind} version {doc.version} was already published with other content;"
                " give the new document a new version"
            )
        return existing
    row = conn.execute(
        "INSERT INTO config_documents (kind, version, content, sha256, summary, uploaded_by)"
        " VALUES (%s, %s, %s, %s, %s::jsonb, %s) RETURNING id",
        (doc.kind, doc.version, doc.content, doc.sha256, json.dumps(dict(doc.summary)), by),
    ).fetchone()
    assert row is not None
    document = document_by_id(conn, int(row[0]))
    assert document is not None
    return document


_DOC_COLUMNS = "id, kind, version, content, sha256, summary, uploaded_at, uploaded_by"


def find_document(conn: psycopg.Connection, kind: str, version: str) -> Document | None:
    """The published document of this kind and version, if any."""
    row = conn.execute(
        f"SELECT {_DOC_COLUMNS} FROM config_documents WHERE kind = %s AND version = %s",  # noqa: S608 — fixed text
        (kind, version),
    ).fetchone()
    return None if row is None else Document(*row)


def document_by_id(conn: psycopg.Connection, document_id: int) -> Document | None:
    """A published document by id."""
    row = conn.execute(
        f"SELECT {_DOC_COLUMNS} FROM config_documents WHERE id = %s",  # noqa: S608 — fixed text
        (document_id,),
    ).fetchone()
    return None if row is None else Document(*row)


def documents(conn: psycopg.Connection, limit: int = 50) -> list[Document]:
    """Uploaded documents, newest first, without their content (a list page needs none); the
    activities documents each centre gets (city/activities/publishing.py) are not rolled out."""
    rows = conn.execute(
        "SELECT id, kind, version, '', sha256, summary, uploaded_at, uploaded_by"
        " FROM config_documents WHERE kind = ANY(%s) ORDER BY id DESC LIMIT %s",
        (list(KINDS), limit),
    ).fetchall()
    return [Document(*row) for row in rows]


# unnest + join: one hash join for 10,000 kiosks (`= ANY(array)` was 3-4x slower)
RUNNING_VERSIONS = """
SELECT k.kiosk, k.centre, COALESCE(kc.version, CASE WHEN %(kind)s = 'catalogue'
       THEN k.catalogue_version END)
FROM unnest(%(kiosks)s::text[]) AS wanted (kiosk)
JOIN kiosks k ON k.kiosk = wanted.kiosk
LEFT JOIN kiosk_config kc ON kc.kiosk = k.kiosk AND kc.kind = %(kind)s
"""


def running_versions(
    conn: psycopg.Connection, kind: str, kiosks: Sequence[str]
) -> dict[str, str | None]:
    """What each kiosk last reported running of `kind` (None: not known)."""
    rows = conn.execute(RUNNING_VERSIONS, {"kind": kind, "kiosks": list(kiosks)}).fetchall()
    return {str(k): v for k, _c, v in rows}


@dataclass(frozen=True)
class DeployedDiff:
    """The new document against one version running on some of the targets."""

    version: str | None
    kiosks: int
    known: bool  # the city has this version's content
    same: bool
    lines: tuple[str, ...] = ()
    truncated: bool = False
    items_added: tuple[str, ...] = ()
    items_removed: tuple[str, ...] = ()
    items_changed: tuple[str, ...] = ()


def diff_against_deployed(
    conn: psycopg.Connection, kind: str, content: str, version: str, kiosks: Sequence[str]
) -> list[DeployedDiff]:
    """One diff per version running on `kiosks` (most kiosks first)."""
    return diff_against_versions(
        conn, kind, content, version, running_versions(conn, kind, kiosks).values()
    )


def diff_against_versions(
    conn: psycopg.Connection,
    kind: str,
    content: str,
    version: str,
    running_on_each: Iterable[str | None],
) -> list[DeployedDiff]:
    """One diff per version in `running_on_each` (one entry per kiosk), most kiosks first."""
    counts: dict[str | None, int] = {}
    for running in running_on_each:
        counts[running] = counts.get(running, 0) + 1
    diffs = []
    for running, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or "")):
        old = None if running is None else find_document(conn, kind, running)
        if old is None:
            diffs.append(DeployedDiff(running, count, known=False, same=running == version))
            continue
        lines = _diff_lines(old.content, content, f"{kind} {running}", f"{kind} {version}")
        added, removed, changed = (
            _item_changes(old.content, content) if kind == "catalogue" else ((), (), ())
        )
        diffs.append(
            DeployedDiff(
                running,
                count,
                known=True,
                same=not lines,
                lines=tuple(lines[:MAX_DIFF_LINES]),
                truncated=len(lines) > MAX_DIFF_LINES,
                items_added=added,
                items_removed=removed,
                items_changed=changed,
            )
        )
    return diffs


# Documents never change under their (kind, version): a page shown again (every preview, every
# operator) reuses the diff and the parsed catalogues instead of redoing 100 KB of YAML.
@functools.lru_cache(maxsize=32)
def _diff_lines(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    return list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name,
            lineterm="", n=2,
        )
    )  # fmt: skip


@functools.lru_cache(maxsize=32)
def _item_changes(old: str, new: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    from config.catalogue import catalogue_from_bytes
    from config.loader import ConfigError

    try:
        before = {i.id: i for i in catalogue_from_bytes(old.encode(), "deployed").items}
        after = {i.id: i for i in catalogue_from_bytes(new.encode(), "new").items}
    except ConfigError:
        return (), (), ()

    def label(item_id: str, items: dict[str, Any]) -> str:
        return f"{item_id} {items[item_id].name.zh}"

    added = tuple(label(i, after) for i in after if i not in before)
    removed = tuple(label(i, before) for i in before if i not in after)
    changed = tuple(label(i, after) for i in after if i in before and after[i] != before[i])
    return added, removed, changed


@dataclass
class Plan:
    """Who gets a rollout, and in which stage."""

    kiosks: list[str]
    first_centre: str | None
    stage1: list[str] = field(default_factory=list)
    stage2: list[str] = field(default_factory=list)


def centre_of(kiosk: str) -> str:
    """The centre of a full kiosk id CITY/CENTRE/KIOSK."""
    return kiosk.split("/")[1]


def plan_rollout(
    conn: psycopg.Connection,
    selector: Selector,
    *,
    staged: bool = True,
    first_centre: str | None = None,
    kiosks: Sequence[str] | None = None,
) -> Plan:
    """The targets in stages (`kiosks`: already resolved); PublishError if there are none."""
    kiosks = list(resolve(conn, selector) if kiosks is None else kiosks)
    if not kiosks:
        raise PublishError(f"{selector} names no kiosk")
    centres = sorted({centre_of(k) for k in kiosks})
    if first_centre is not None and first_centre not in centres:
        raise PublishError(f"centre {first_centre} has no kiosk in {selector}")
    if not staged or len(centres) == 1:
        return Plan(kiosks, None, stage1=list(kiosks))
    first = first_centre or centres[0]
    return Plan(
        kiosks,
        first,
        stage1=[k for k in kiosks if centre_of(k) == first],
        stage2=[k for k in kiosks if centre_of(k) != first],
    )


def create_rollout(
    conn: psycopg.Connection,
    document: Document,
    selector: Selector,
    *,
    by: str,
    staged: bool = True,
    first_centre: str | None = None,
    auto_promote: bool = False,
) -> int:
    """A rollout with its stage-1 commands queued; its id. The caller commits."""
    plan = plan_rollout(conn, selector, staged=staged, first_centre=first_centre)
    state = "stage1" if plan.stage2 else "all"
    row = conn.execute(
        "INSERT INTO rollouts (kind, document_id, selector, first_centre, auto_promote, state,"
        " created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (document.kind, document.id, str(selector), plan.first_centre, auto_promote, state, by),
    ).fetchone()
    assert row is not None
    rollout_id = int(row[0])
    previous = running_versions(conn, document.kind, plan.kiosks)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO rollout_targets (rollout_id, kiosk, stage, document_id,"
            " previous_version) VALUES (%s, %s, %s, %s, %s)",
            [
                (rollout_id, kiosk, stage, document.id, previous.get(kiosk))
                for stage, kiosks in ((1, plan.stage1), (2, plan.stage2))
                for kiosk in kiosks
            ],
        )
    _release(conn, rollout_id, 1, by)
    return rollout_id


def _release(conn: psycopg.Connection, rollout_id: int, stage: int, by: str) -> int:
    rows = conn.execute(
        "SELECT t.kiosk, d.id, d.kind, d.version FROM rollout_targets t"
        " JOIN config_documents d ON d.id = t.document_id"
        " WHERE t.rollout_id = %s AND t.stage = %s AND t.command_id IS NULL"
        "   AND t.skipped_reason IS NULL ORDER BY t.kiosk",
        (rollout_id, stage),
    ).fetchall()
    commands = [
        (str(uuid.uuid4()), kiosk, json.dumps({"kind": kind, "version": version}), document_id)
        for kiosk, document_id, kind, version in rows
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO commands (id, kiosk, type, args, document_id, rollout_id, state,"
            " requested_by) VALUES (%s, %s, 'set_config', %s::jsonb, %s, %s, 'waiting', %s)",
            [(cid, kiosk, args, doc, rollout_id, by) for cid, kiosk, args, doc in commands],
        )
        cur.executemany(
            "UPDATE rollout_targets SET command_id = %s WHERE rollout_id = %s AND kiosk = %s",
            [(cid, rollout_id, kiosk) for cid, kiosk, _a, _d in commands],
        )
    return len(rows)


def _stage_states(conn: psycopg.Connection, rollout_id: int, stage: int) -> list[str]:
    rows = conn.execute(
        "SELECT COALESCE(c.state, 'held') FROM rollout_targets t"
        " LEFT JOIN commands c ON c.id = t.command_id"
        " WHERE t.rollout_id = %s AND t.stage = %s AND t.skipped_reason IS NULL",
        (rollout_id, stage),
    ).fetchall()
    return [str(r[0]) for r in rows]


def promote(conn: psycopg.Connection, rollout_id: int, by: str, *, force: bool = False) -> int:
    """Release stage 2; how many kiosks were released. The caller commits."""
    row = conn.execute(
        "SELECT state FROM rollouts WHERE id = %s FOR UPDATE", (rollout_id,)
    ).fetchone()
    if row is None:
        raise PublishError(f"no rollout {rollout_id}")
    if row[0] != "stage1":
        raise PublishError(f"rollout {rollout_id} is not waiting for promotion ({row[0]})")
    states = _stage_states(conn, rollout_id, 1)
    if not force and any(s != "applied" for s in states):
        pending = sum(s != "applied" for s in states)
        raise PublishError(f"{pending} of {len(states)} first-stage kiosks have not applied it yet")
    conn.execute(
        "UPDATE rollouts SET state = 'all', promoted_at = %s, promoted_by = %s WHERE id = %s",
        (datetime.now(UTC), by, rollout_id),
    )
    return _release(conn, rollout_id, 2, by)


def auto_promote(conn: psycopg.Connection) -> list[int]:
    """Promote every auto rollout whose first stage all applied (the dispatcher's tick)."""
    rows = conn.execute(
        "SELECT id FROM rollouts WHERE state = 'stage1' AND auto_promote ORDER BY id"
    ).fetchall()
    promoted = []
    for (rollout_id,) in rows:
        states = _stage_states(conn, rollout_id, 1)
        if states and all(s == "applied" for s in states):
            promote(conn, rollout_id, "auto")
            promoted.append(int(rollout_id))
    return promoted


ROLLED_BACK_STATES = ("applied", "sent", "expired")  # got it, or may have


def rollback(conn: psycopg.Connection, rollout_id: int, by: str) -> int:
    """A rollback rollout restoring each kiosk's previous version; its id. The caller commits."""
    row = conn.execute(
        "SELECT r.state, r.kind, d.version FROM rollouts r"
        " LEFT JOIN config_documents d ON d.id = r.document_id WHERE r.id = %s FOR UPDATE OF r",
        (rollout_id,),
    ).fetchone()
    if row is None:
        raise PublishError(f"no rollout {rollout_id}")
    state, kind, version = row
    if state == "rolled_back":
        raise PublishError(f"rollout {rollout_id} was already rolled back")
    targets = conn.execute(
        "SELECT t.kiosk, t.previous_version, c.id::text, c.state FROM rollout_targets t"
        " LEFT JOIN commands c ON c.id = t.command_id WHERE t.rollout_id = %s ORDER BY t.kiosk",
        (rollout_id,),
    ).fetchall()
    now = datetime.now(UTC)
    conn.execute(
        "UPDATE commands SET state = 'cancelled', updated_at = %s"
        " WHERE rollout_id = %s AND state = 'waiting'",
        (now, rollout_id),
    )
    conn.execute(
        "UPDATE rollouts SET state = 'rolled_back', rolled_back_at = %s, rolled_back_by = %s"
        " WHERE id = %s",
        (now, by, rollout_id),
    )
    new = conn.execute(
        "INSERT INTO rollouts (kind, document_id, selector, state, rollback_of, created_by)"
        " VALUES (%s, NULL, %s, 'all', %s, %s) RETURNING id",
        (kind, f"rollback:{rollout_id}", rollout_id, by),
    ).fetchone()
    assert new is not None
    new_id = int(new[0])
    for kiosk, previous, _command_id, command_state in targets:
        if command_state not in ROLLED_BACK_STATES:
            continue  # held, waiting (now cancelled), rejected or failed: it still runs the old
        document = None if previous is None else find_document(conn, kind, previous)
        skipped = None
        if previous is None:
            skipped = "the version it ran before is not known"
        elif previous == version:
            skipped = f"it already ran {previous} before"
        elif document is None:
            skipped = f"{kind} {previous} was never published by the city"
        conn.execute(
            "INSERT INTO rollout_targets (rollout_id, kiosk, stage, document_id,"
            " previous_version, skipped_reason) VALUES (%s, %s, 1, %s, %s, %s)",
            (new_id, kiosk, None if document is None else document.id, version, skipped),
        )
    _release(conn, new_id, 1, by)
    return new_id


TARGET_STATE = (
    "COALESCE(CASE WHEN t.skipped_reason IS NOT NULL THEN 'skipped' END, c.state, 'held')"
)
# what needs a look first: refusals, then what is still under way, then the settled
STATE_ORDER = ("rejected", "failed", "expired", "waiting", "sent", "held", "cancelled",
               "skipped", "applied")  # fmt: skip
TARGETS = f"""
SELECT t.kiosk, t.stage, t.previous_version, t.skipped_reason, d.version,
       c.id::text, c.state, c.reason, c.detail, c.attempt, c.sent_at, c.result_at,
       k.presence
FROM rollout_targets t
LEFT JOIN config_documents d ON d.id = t.document_id
LEFT JOIN commands c ON c.id = t.command_id
LEFT JOIN kiosks k ON k.kiosk = t.kiosk
WHERE t.rollout_id = %(id)s AND (%(state)s::text IS NULL OR {TARGET_STATE} = %(state)s)
ORDER BY array_position(%(order)s::text[], {TARGET_STATE}), t.stage, t.kiosk
LIMIT %(limit)s
"""  # noqa: S608 — fixed text
COUNTS = f"""
SELECT {TARGET_STATE}, count(*) FROM rollout_targets t
LEFT JOIN commands c ON c.id = t.command_id WHERE t.rollout_id = %s GROUP BY 1
"""  # noqa: S608 — fixed text


def target_state(skipped: str | None, command_state: str | None) -> str:
    """A kiosk's state in a rollout: skipped, held, waiting (offline), sent, applied, …"""
    if skipped is not None:
        return "skipped"
    if command_state is None:
        return "held"
    return command_state


def rollout_status(
    conn: psycopg.Connection,
    rollout_id: int,
    *,
    state: str | None = None,
    limit: int | None = None,
) -> dict[str, Any] | None:
    """The rollout, the counts per state, and its kiosks (those needing a look first; only
    `state` ones if given; at most `limit`)."""
    cur = conn.execute(
        "SELECT r.id, r.kind, d.version, r.selector, r.first_centre, r.auto_promote, r.state,"
        " r.rollback_of, r.created_at, r.created_by, r.promoted_at, r.promoted_by,"
        " r.rolled_back_at, r.rolled_back_by,"
        " (SELECT min(b.id) FROM rollouts b WHERE b.rollback_of = r.id)"
        " FROM rollouts r LEFT JOIN config_documents d ON d.id = r.document_id WHERE r.id = %s",
        (rollout_id,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    names = [
        "id", "kind", "version", "selector", "first_centre", "auto_promote", "state",
        "rollback_of", "created_at", "created_by", "promoted_at", "promoted_by",
        "rolled_back_at", "rolled_back_by", "rolled_back_by_rollout",
    ]  # fmt: skip
    status: dict[str, Any] = dict(zip(names, row, strict=True))
    targets = []
    counts = {str(s): int(n) for s, n in conn.execute(COUNTS, (rollout_id,)).fetchall()}
    params = {"id": rollout_id, "state": state, "order": list(STATE_ORDER), "limit": limit}
    for (
        kiosk, stage, previous, skipped, version, command_id, cstate, reason, detail, attempt,
        sent_at, result_at, presence,
    ) in conn.execute(TARGETS, params).fetchall():  # fmt: skip
        targets.append(
            {
                "kiosk": kiosk,
                "stage": stage,
                "version": version,
                "previous_version": previous,
                "state": target_state(skipped, cstate),
                "reason": reason or skipped,
                "problem": (detail or {}).get("problem") if isinstance(detail, dict) else None,
                "attempt": attempt,
                "command_id": command_id,
                "sent_at": sent_at,
                "result_at": result_at,
                "presence": presence,
            }
        )
    status["targets"] = targets
    status["counts"] = counts
    status["total"] = sum(counts.values())
    status["filter"] = state
    stage1 = _stage_states(conn, rollout_id, 1)
    status["stage1_applied"] = bool(stage1) and all(s == "applied" for s in stage1)
    return status


def rollout_list(conn: psycopg.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Recent rollouts with their counts per state, newest first."""
    rows = conn.execute(
        "SELECT r.id, r.kind, d.version, r.selector, r.state, r.rollback_of, r.created_at,"
        " r.created_by FROM rollouts r LEFT JOIN config_documents d ON d.id = r.document_id"
        " ORDER BY r.id DESC LIMIT %s",
        (limit,),
    ).fetchall()
    names = ["id", "kind", "version", "selector", "state", "rollback_of", "created_at", "by"]
    result = []
    for row in rows:
        item: dict[str, Any] = dict(zip(names, row, strict=True))
        counts = conn.execute(
            "SELECT COALESCE(CASE WHEN t.skipped_reason IS NOT NULL THEN 'skipped' END,"
            " c.state, 'held'), count(*) FROM rollout_targets t"
            " LEFT JOIN commands c ON c.id = t.command_id WHERE t.rollout_id = %s GROUP BY 1",
            (item["id"],),
        ).fetchall()
        item["counts"] = {str(s): int(n) for s, n in counts}
        result.append(item)
    return result


def latest_kind_document(conn: psycopg.Connection, kind: ConfigKind) -> Document | None:
    """The most recently published document of a kind."""
    row = conn.execute(
        f"SELECT {_DOC_COLUMNS} FROM config_documents WHERE kind = %s ORDER BY id DESC LIMIT 1",  # noqa: S608 — fixed text
        (kind,),
    ).fetchone()
    return None if row is None else Document(*row)
