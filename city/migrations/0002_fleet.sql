-- One row per kiosk: the inventory's (expected) plus every kiosk that ever spoke.
CREATE TABLE kiosks (
    kiosk                text PRIMARY KEY,
    city                 text NOT NULL,
    centre               text NOT NULL,
    name                 text NOT NULL,
    in_inventory         boolean NOT NULL DEFAULT false,
    district             text,
    opening_hours        text,
    presence             text NOT NULL DEFAULT 'never_seen'
                         CHECK (presence IN ('never_seen', 'online', 'offline')),
    presence_connection  bigint,
    presence_since       timestamptz,
    offline_reason       text,
    boot                 uuid,
    agent_version        text,
    last_event_at        timestamptz,
    last_heartbeat_at    timestamptz,
    heartbeat_ts         timestamptz,
    outbox_depth         integer,
    oldest_unsent_age_s  double precision,
    free_disk_mb         double precision,
    devices              jsonb NOT NULL DEFAULT '{}'::jsonb,
    clock_synchronised   boolean,
    clock_offset_ms      double precision,
    versions             jsonb NOT NULL DEFAULT '{}'::jsonb,
    catalogue_version    text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Per kiosk and device: faulted since when (NULL: fine); the latest event by kiosk time wins.
CREATE TABLE device_states (
    kiosk       text        NOT NULL,
    device      text        NOT NULL,
    fault_kind  text,
    fault_since timestamptz,
    changed_ts  timestamptz NOT NULL,
    PRIMARY KEY (kiosk, device)
);

-- The latest agent.alert of each kind per kiosk: its condition holds for a while after it.
CREATE TABLE agent_alerts (
    kiosk   text        NOT NULL,
    kind    text        NOT NULL,
    message text        NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (kiosk, kind)
);

-- One alert per condition (kiosk, rule, subject) until resolved: open -> acknowledged -> resolved.
CREATE TABLE alerts (
    id              bigserial   PRIMARY KEY,
    kiosk           text        NOT NULL,
    rule            text        NOT NULL,
    subject         text        NOT NULL DEFAULT '',
    state           text        NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    message         text        NOT NULL,
    opened_at       timestamptz NOT NULL,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    clear_since     timestamptz
);
CREATE UNIQUE INDEX alerts_one_per_condition ON alerts (kiosk, rule, subject)
    WHERE state <> 'resolved';
