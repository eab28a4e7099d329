-- Resident requests (诉求, issue 14; docs/requests-city.md): one row per request.submitted
-- (keyed on its request_id), and the history of every change staff make to it.
--
-- The call-back phone stays sealed here (callback_sealed, to the city's X25519 request key named
-- by callback_key_id): the private key is a file the console reads, never a value in this
-- database, so a copy of the database holds no phone number in clear.

CREATE TABLE requests (
    request_id      uuid        PRIMARY KEY,
    event_id        uuid        NOT NULL,  -- the request.submitted event (events.id)
    ticket          text        NOT NULL
                    CHECK (ticket ~ '^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$'),
    kiosk           text        NOT NULL,  -- CITY/CENTRE/KIOSK from the topic
    city            text        NOT NULL,
    centre          text        NOT NULL,
    district        text,                  -- the inventory's, when the kiosk is listed
    category        text        NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]{0,31}$'),
    building        text        CHECK (length(building) BETWEEN 1 AND 40),
    unit            text        CHECK (length(unit) BETWEEN 1 AND 20),
    text            text        NOT NULL CHECK (length(text) BETWEEN 1 AND 200),
    callback_sealed text        CHECK (callback_sealed ~ '^[A-Za-z0-9_-]{123}$'),
    callback_key_id text        CHECK (callback_key_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    key_id          text        NOT NULL CHECK (key_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    subject         text        NOT NULL CHECK (subject ~ '^[0-9a-f]{64}$'),
    session_id      uuid        NOT NULL,
    submitted_at    timestamptz NOT NULL,  -- the event's ts (the kiosk's clock)
    received_at     timestamptz NOT NULL DEFAULT now(),
    state           text        NOT NULL DEFAULT 'received'
                    CHECK (state IN ('received', 'assigned', 'answered', 'closed')),
    assignee        text,                  -- console_users.name of who works on it
    answer          text        CHECK (length(answer) BETWEEN 1 AND 500),
    updated_at      timestamptz NOT NULL DEFAULT now(),  -- the last change of state or answer
    CHECK ((callback_sealed IS NULL) = (callback_key_id IS NULL)),
    CHECK (state = 'received' OR assignee IS NOT NULL),
    CHECK (state IN ('received', 'assigned') OR answer IS NOT NULL)
);
-- A ticket is a label, not a key (two kiosks may mint the same one: docs/contract/README.md).
CREATE INDEX requests_ticket ON requests (ticket);
-- requests.status: a resident's newest requests.
CREATE INDEX requests_resident ON requests (key_id, subject, submitted_at DESC);
-- The inbox (docs/requests-city.md "Scale"): all, or by state, oldest or newest first; counts
-- per state (index-only); one assignee's work; one category or centre, and their filter menus
-- (a skip scan over the index reads one entry per category or centre).
CREATE INDEX requests_submitted ON requests (submitted_at, request_id);
CREATE INDEX requests_state ON requests (state, submitted_at, request_id);
CREATE INDEX requests_assignee ON requests (assignee, state, submitted_at);
CREATE INDEX requests_category ON requests (category, submitted_at);
CREATE INDEX requests_centre ON requests (city, centre, submitted_at);

-- Every state change, assignment and answer: who, when, from → to, and a note. Append-only.
CREATE TABLE request_history (
    id         bigserial   PRIMARY KEY,
    request_id uuid        NOT NULL REFERENCES requests (request_id),
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text        NOT NULL,  -- a staff account, or kiosk:CITY/CENTRE/KIOSK (received)
    action     text        NOT NULL CHECK (action IN ('received', 'assign', 'answer', 'close')),
    from_state text        CHECK (from_state IN ('received', 'assigned', 'answered', 'closed')),
    to_state   text        NOT NULL CHECK (to_state IN ('received', 'assigned', 'answered', 'closed')),
    assignee   text,                  -- assign: to whom
    answer     text        CHECK (length(answer) BETWEEN 1 AND 500),  -- answer: what was said
    note       text        NOT NULL DEFAULT '' CHECK (length(note) <= 500)
);
CREATE INDEX request_history_request ON request_history (request_id, id);

CREATE FUNCTION request_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'request_history is append-only';
END $$;
CREATE TRIGGER request_history_append_only BEFORE UPDATE OR DELETE ON request_history
    FOR EACH ROW EXECUTE FUNCTION request_history_append_only();
