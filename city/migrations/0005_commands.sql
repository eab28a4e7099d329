-- publishing (issue 13): published documents, rollouts, and every signed command per kiosk.

-- Every catalogue / UI-texts version the city published: what a rollout sends, a diff compares
-- and a rollback restores. One content per (kind, version): a version names one document.
CREATE TABLE config_documents (
    id          bigserial   PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('catalogue', 'ui_texts')),
    version     text        NOT NULL,
    content     text        NOT NULL,
    sha256      text        NOT NULL,
    summary     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    uploaded_by text        NOT NULL,
    UNIQUE (kind, version)
);

-- What each kiosk last reported running, per kind (command.result ok of set_config, and the
-- catalogue version in its agent.online birth).
CREATE TABLE kiosk_config (
    kiosk      text        NOT NULL,
    kind       text        NOT NULL,
    version    text        NOT NULL,
    since      timestamptz NOT NULL,
    PRIMARY KEY (kiosk, kind)
);

-- A rollout: one document to the kiosks a selector named, in one or two stages.
-- state: stage1 (first centre only) -> all (everyone released) ; rolled_back ; a rollback
-- rollout has rollback_of set and per-target documents.
CREATE TABLE rollouts (
    id            bigserial   PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('catalogue', 'ui_texts')),
    document_id   bigint      REFERENCES config_documents (id),
    selector      text        NOT NULL,
    first_centre  text,
    auto_promote  boolean     NOT NULL DEFAULT false,
    state         text        NOT NULL CHECK (state IN ('stage1', 'all', 'rolled_back')),
    rollback_of   bigint      REFERENCES rollouts (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text        NOT NULL,
    promoted_at   timestamptz,
    promoted_by   text,
    rolled_back_at timestamptz,
    rolled_back_by text
);

-- One row per kiosk of a rollout. stage 1 is the first centre, stage 2 the rest (held until
-- promoted). command_id is the latest attempt; its state is the kiosk's state in the rollout.
CREATE TABLE rollout_targets (
    rollout_id        bigint  NOT NULL REFERENCES rollouts (id),
    kiosk             text    NOT NULL,
    stage             integer NOT NULL CHECK (stage IN (1, 2)),
    document_id       bigint  REFERENCES config_documents (id),
    previous_version  text,
    command_id        uuid,
    skipped_reason    text,
    PRIMARY KEY (rollout_id, kiosk)
);

-- Every command to a kiosk, one row per signed message (attempt). A re-send after expiry gets a
-- new id (and a fresh nonce and window), linked by resend_of, so each command.result the kiosk
-- echoes names exactly one attempt.
-- state: waiting (not sent: the kiosk is offline) -> sent -> applied | rejected | failed |
--        expired (no answer in its window) ; cancelled (superseded by a rollback)
CREATE TABLE commands (
    id             uuid        PRIMARY KEY,
    kiosk          text        NOT NULL,
    type           text        NOT NULL,
    args           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    document_id    bigint      REFERENCES config_documents (id),
    rollout_id     bigint      REFERENCES rollouts (id),
    resend_of      uuid        REFERENCES commands (id),
    attempt        integer     NOT NULL DEFAULT 1,
    state          text        NOT NULL CHECK (state IN
                       ('waiting', 'sent', 'applied', 'rejected', 'failed', 'expired',
                        'cancelled')),
    reason         text,
    detail         jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    requested_by   text        NOT NULL,
    sent_at        timestamptz,
    sent_connection bigint,
    expires_at     timestamptz,
    result_at      timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX commands_kiosk_created ON commands (kiosk, created_at DESC);
CREATE INDEX commands_open ON commands (state) WHERE state IN ('waiting', 'sent', 'expired');
CREATE INDEX commands_rollout ON commands (rollout_id) WHERE rollout_id IS NOT NULL;
