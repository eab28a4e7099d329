-- console (issue 13): staff accounts, server-side web sessions, login rate limits, audit log,
-- who acknowledged an alert and why (docs/console.md).

CREATE TABLE console_users (
    id            bigserial   PRIMARY KEY,
    name          text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    password_hash text        NOT NULL,  -- argon2id, encoded (argon2-cffi PasswordHasher)
    role          text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per logged-in browser; the cookie holds a random token, the row only its keyed hash
-- (HMAC with the session secret from console.session_secret_file), so a copy of the table
-- opens no session.
CREATE TABLE console_sessions (
    token_hash   bytea       PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    csrf_token   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- Failed logins, kept so that a restart does not reset the limits: scope 'account' (key: the
-- name typed) or 'address' (key: the client address).
CREATE TABLE console_login_failures (
    scope text        NOT NULL CHECK (scope IN ('account', 'address')),
    key   text        NOT NULL,
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_login_failures_key ON console_login_failures (scope, key, at);

-- Who did what: every alert acknowledgement, every command sent, every account change.
CREATE TABLE audit_log (
    id      bigserial   PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text        NOT NULL,
    action  text        NOT NULL,
    subject text        NOT NULL DEFAULT '',
    detail  jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_action_at ON audit_log (action, at DESC);

ALTER TABLE alerts ADD COLUMN acknowledged_by text;
ALTER TABLE alerts ADD COLUMN ack_note text;
CREATE INDEX alerts_state_opened ON alerts (state, opened_at DESC);
CREATE INDEX alerts_kiosk_opened ON alerts (kiosk, opened_at DESC);
CREATE INDEX kiosks_district_centre ON kiosks (district, centre, kiosk);
