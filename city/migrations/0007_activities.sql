-- activities (活动报名, issue 14; docs/activities.md): the centres' activities, the residents'
-- sign-ups (pseudonyms only), and the activities documents pushed to the kiosks.

-- One activity at one centre (CITY + CENTRE as in `kiosks`). `confirmed` counts the confirmed
-- sign-ups: the ingest changes it only while holding this row's lock (SELECT … FOR UPDATE), so
-- several ingest workers racing for the last place confirm exactly `capacity`; the CHECK is the
-- last line of defence. `places_changed_at` tells the dispatcher's tick that the kiosks' copy
-- of places_left is stale (pushed again, debounced per centre).
CREATE TABLE activities (
    id                text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    city              text        NOT NULL,
    centre            text        NOT NULL,
    title_zh          text        NOT NULL CHECK (length(title_zh) BETWEEN 1 AND 60),
    title_en          text        NOT NULL CHECK (length(title_en) BETWEEN 1 AND 120),
    place_zh          text        NOT NULL CHECK (length(place_zh) BETWEEN 1 AND 60),
    place_en          text        NOT NULL CHECK (length(place_en) BETWEEN 1 AND 120),
    organiser_zh      text        NOT NULL CHECK (length(organiser_zh) BETWEEN 1 AND 60),
    organiser_en      text        NOT NULL CHECK (length(organiser_en) BETWEEN 1 AND 120),
    audience_zh       text        NOT NULL CHECK (length(audience_zh) BETWEEN 1 AND 60),
    audience_en       text        NOT NULL CHECK (length(audience_en) BETWEEN 1 AND 120),
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    capacity          integer     NOT NULL CHECK (capacity BETWEEN 1 AND 100000),
    confirmed         integer     NOT NULL DEFAULT 0 CHECK (confirmed >= 0),
    -- auto: first come, first served at ingest; staff: sign-ups wait (requested) for staff
    approval          text        NOT NULL DEFAULT 'auto' CHECK (approval IN ('auto', 'staff')),
    points            integer     NOT NULL DEFAULT 0 CHECK (points BETWEEN 0 AND 100000),
    state             text        NOT NULL DEFAULT 'draft'
                                  CHECK (state IN ('draft', 'published', 'cancelled')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        text        NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        text        NOT NULL,
    published_at      timestamptz,
    cancelled_at      timestamptz,
    places_changed_at timestamptz,
    CHECK (ends_at > starts_at),
    CHECK (confirmed <= capacity)
);
CREATE INDEX activities_centre_start ON activities (city, centre, starts_at);
CREATE INDEX activities_places_changed ON activities (places_changed_at)
    WHERE places_changed_at IS NOT NULL;

-- One row per sign-up the kiosks sent (signup_id is the kiosk's UUIDv7: a redelivered event
-- finds its row). No foreign key to activities: a sign-up for an unknown activity is kept,
-- refused, so its answer can be re-sent. signed_up_at is the event's kiosk time (the allocation
-- order, with event_id as the tiebreak); NULL for a cancellation that arrived before its
-- sign-up (then the row is a tombstone: the late sign-up finds it cancelled and takes no place).
-- decided_by: 'auto' (the ingest) or the staff account.
CREATE TABLE activity_signups (
    signup_id      uuid        PRIMARY KEY,
    activity_id    text        NOT NULL,
    key_id         text        NOT NULL CHECK (key_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    subject        text        NOT NULL CHECK (subject ~ '^[0-9a-f]{64}$'),
    kiosk          text        NOT NULL,
    event_id       uuid,
    signed_up_at   timestamptz,
    received_at    timestamptz NOT NULL DEFAULT now(),
    state          text        NOT NULL
                               CHECK (state IN ('requested', 'confirmed', 'refused', 'cancelled')),
    reason         text        NOT NULL DEFAULT '',
    decided_at     timestamptz,
    decided_by     text,
    cancelled_at   timestamptz,
    attended_at    timestamptz,
    attended_by    text,
    points_credited integer
);
CREATE INDEX activity_signups_roster ON activity_signups (activity_id, signed_up_at, event_id);
-- one place per pseudonym and activity (the ingest refuses a second sign-up as a duplicate)
CREATE UNIQUE INDEX activity_signups_one_place ON activity_signups (activity_id, key_id, subject)
    WHERE state IN ('requested', 'confirmed');

-- Every activities document pushed to a centre's kiosks (content in config_documents, kind
-- activities): the debounce reads the latest per centre.
CREATE TABLE activity_publications (
    id           bigserial   PRIMARY KEY,
    city         text        NOT NULL,
    centre       text        NOT NULL,
    document_id  bigint      NOT NULL REFERENCES config_documents (id),
    activities   integer     NOT NULL,
    kiosks       integer     NOT NULL,
    reason       text        NOT NULL CHECK (reason IN ('staff', 'places')),
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by text        NOT NULL
);
CREATE INDEX activity_publications_centre ON activity_publications (city, centre, id DESC);

-- The activities documents live beside the catalogues (the dispatcher sends set_config from
-- config_documents), and a sign-up's answer finds the commands that carried earlier answers.
ALTER TABLE config_documents DROP CONSTRAINT config_documents_kind_check;
ALTER TABLE config_documents ADD CONSTRAINT config_documents_kind_check
    CHECK (kind IN ('catalogue', 'ui_texts', 'activities'));
CREATE INDEX commands_signup ON commands ((args ->> 'signup_id'))
    WHERE type = 'activity_signup_result';
