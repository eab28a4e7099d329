-- red points (红色积分, issue 14; docs/points.md): accounts per pseudonym, an append-only ledger,
-- the rewards catalogue and one row per redemption_id (idempotency).

-- One account per resident pseudonym. `balance` is the sum of the account's entries, kept here
-- so that a redemption locks one row (SELECT … FOR UPDATE) and checks one number; the CHECK is
-- the last line of defence: no code path can take it below zero.
CREATE TABLE points_accounts (
    id         bigserial   PRIMARY KEY,
    key_id     text        NOT NULL CHECK (key_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    subject    text        NOT NULL CHECK (subject ~ '^[0-9a-f]{64}$'),
    balance    bigint      NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (key_id, subject)
);

-- What points can buy. `stock` NULL: unlimited; otherwise decremented by each redemption.
CREATE TABLE points_rewards (
    reward_id  text        PRIMARY KEY CHECK (reward_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    title_zh   text        NOT NULL CHECK (length(title_zh) BETWEEN 1 AND 60),
    title_en   text        CHECK (length(title_en) BETWEEN 1 AND 80),
    points     integer     NOT NULL CHECK (points BETWEEN 1 AND 1000000),
    stock      integer     CHECK (stock >= 0),
    active     boolean     NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The ledger: append-only (a trigger refuses UPDATE and DELETE), each entry with the balance it
-- left. Earn entries name where the points came from (source + reference, e.g. an activity id)
-- and are unique per (account, source, reference): the same attendance never counts twice.
CREATE TABLE points_entries (
    id            bigserial   PRIMARY KEY,
    account_id    bigint      NOT NULL REFERENCES points_accounts (id),
    kind          text        NOT NULL CHECK (kind IN ('earn', 'redeem')),
    points        integer     NOT NULL,
    balance_after bigint      NOT NULL CHECK (balance_after >= 0),
    source        text        NOT NULL CHECK (source IN ('attendance', 'volunteering', 'redemption')),
    reference     text        NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    note          text        NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    actor         text        NOT NULL,  -- staff account (CLI/console) or kiosk:CITY/CENTRE/KIOSK
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'earn' AND points > 0 AND source <> 'redemption')
        OR (kind = 'redeem' AND points < 0 AND source = 'redemption'))
);
CREATE UNIQUE INDEX points_entries_once ON points_entries (account_id, source, reference);
CREATE INDEX points_entries_account ON points_entries (account_id, id DESC);

CREATE FUNCTION points_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_entries is append-only';
END $$;
CREATE TRIGGER points_entries_append_only BEFORE UPDATE OR DELETE ON points_entries
    FOR EACH ROW EXECUTE FUNCTION points_entries_append_only();

-- One row per redemption_id, whatever the outcome: a retried or duplicated call finds it and gets
-- the same answer (`answer`, the answer's data or reason). The primary key makes a second spend
-- for the same redemption_id impossible even if two calls race past the lookup.
CREATE TABLE points_redemptions (
    redemption_id uuid        PRIMARY KEY,
    account_id    bigint      REFERENCES points_accounts (id),
    key_id        text        NOT NULL,
    subject       text        NOT NULL,
    reward_id     text        NOT NULL,
    points        integer     NOT NULL,
    outcome       text        NOT NULL CHECK (outcome IN ('redeemed', 'refused')),
    reason        text,
    entry_id      bigint      REFERENCES points_entries (id),
    voucher       text        UNIQUE,
    kiosk         text        NOT NULL,  -- CITY/CENTRE/KIOSK the call came from
    call_id       uuid        NOT NULL,
    answer        jsonb       NOT NULL,  -- the answer's data (redeemed) or {"reason": …} (refused)
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((outcome = 'redeemed') = (entry_id IS NOT NULL AND voucher IS NOT NULL))
);
CREATE INDEX points_redemptions_account ON points_redemptions (account_id, created_at DESC);
