-- Events as the kiosks sent them (docs/contract), de-duplicated on the event id.
-- `kiosk` is the kiosk's full id CITY/CENTRE/KIOSK (unique in the city, as the topic tree).
CREATE TABLE events (
    id          uuid PRIMARY KEY,
    kiosk       text        NOT NULL,
    type        text        NOT NULL,
    ts          timestamptz NOT NULL,
    boot        uuid        NOT NULL,
    stream      text        NOT NULL CHECK (stream IN ('main', 'heartbeat')),
    seq         bigint      NOT NULL,
    schema      integer     NOT NULL,
    data        jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_kiosk_ts ON events (kiosk, ts);
CREATE INDEX events_type_ts ON events (type, ts);

-- What could not be read or failed the contract: the reason and the first bytes, never dropped.
CREATE TABLE quarantine (
    id          bigserial   PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text        NOT NULL,
    reason      text        NOT NULL,
    raw         bytea       NOT NULL,
    raw_size    integer     NOT NULL
);

-- Seq tracking per (kiosk, boot, stream): the highest seq seen and the missing ranges.
CREATE TABLE seq_streams (
    kiosk    text   NOT NULL,
    boot     uuid   NOT NULL,
    stream   text   NOT NULL,
    max_seq  bigint NOT NULL,
    PRIMARY KEY (kiosk, boot, stream)
);
CREATE TABLE seq_gaps (
    kiosk     text        NOT NULL,
    boot      uuid        NOT NULL,
    stream    text        NOT NULL,
    first_seq bigint      NOT NULL,
    last_seq  bigint      NOT NULL CHECK (last_seq >= first_seq),
    opened_at timestamptz NOT NULL,
    PRIMARY KEY (kiosk, boot, stream, first_seq)
);
CREATE INDEX seq_gaps_opened ON seq_gaps (opened_at);
