-- reports (issue 13): rollups the ingest keeps in its own transaction, 好差评 follow-ups and
-- the early-warning readings (docs/reports.md). Days and hours are the city's local time.

-- Use of services per centre and local day: metric 'started' (key: flow), 'ended' (reason),
-- 'identified' (yes/no), 'card' (card_type), 'qr' (kind), 'item' (item_id).
CREATE TABLE report_usage_daily (
    day    date   NOT NULL,
    city   text   NOT NULL,
    centre text   NOT NULL,
    metric text   NOT NULL,
    key    text   NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (day, city, centre, metric, key)
);
CREATE INDEX report_usage_daily_centre ON report_usage_daily (centre, day);

-- Sessions started per centre and local hour (wall clock): the heat map and hours of activity.
CREATE TABLE report_sessions_hourly (
    hour   timestamp NOT NULL,
    city   text      NOT NULL,
    centre text      NOT NULL,
    n      bigint    NOT NULL,
    PRIMARY KEY (hour, city, centre)
);
CREATE INDEX report_sessions_hourly_centre ON report_sessions_hourly (centre, hour);

-- 好差评 per centre, service item ('' when none) and level (5 非常满意 … 1 非常不满意).
CREATE TABLE report_ratings_daily (
    day    date     NOT NULL,
    city   text     NOT NULL,
    centre text     NOT NULL,
    item   text     NOT NULL,
    level  smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    n      bigint   NOT NULL,
    PRIMARY KEY (day, city, centre, item, level)
);
CREATE INDEX report_ratings_daily_centre ON report_ratings_daily (centre, day);

CREATE TABLE report_rating_reasons_daily (
    day    date     NOT NULL,
    city   text     NOT NULL,
    centre text     NOT NULL,
    item   text     NOT NULL,
    level  smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    reason text     NOT NULL,
    n      bigint   NOT NULL,
    PRIMARY KEY (day, city, centre, item, level, reason)
);
CREATE INDEX report_rating_reasons_daily_centre ON report_rating_reasons_daily (centre, day);

-- Blood-pressure measurements per centre, local day and guideline class ('device_error').
CREATE TABLE report_health_daily (
    day    date   NOT NULL,
    city   text   NOT NULL,
    centre text   NOT NULL,
    class  text   NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (day, city, centre, class)
);
CREATE INDEX report_health_daily_centre ON report_health_daily (centre, day);

-- Coarser grains the city-wide pages read (the same counts summed over centres, or one row
-- per centre and day): a month of a 10,000-kiosk city is then thousands of rows, not millions.
CREATE TABLE report_city_usage_daily (
    day    date   NOT NULL,
    city   text   NOT NULL,
    metric text   NOT NULL,
    key    text   NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (day, city, metric, key)
);
CREATE TABLE report_city_hourly (
    hour timestamp NOT NULL,
    city text      NOT NULL,
    n    bigint    NOT NULL,
    PRIMARY KEY (hour, city)
);
CREATE TABLE report_city_ratings_daily (
    day   date     NOT NULL,
    city  text     NOT NULL,
    item  text     NOT NULL,
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    n     bigint   NOT NULL,
    PRIMARY KEY (day, city, item, level)
);
-- One row per centre and local day: sessions, how they ended, identification, ratings per
-- level, and the first and last local hour a session started (the opening check).
CREATE TABLE report_centre_daily (
    day                 date     NOT NULL,
    city                text     NOT NULL,
    centre              text     NOT NULL,
    first_hour          smallint,
    last_hour           smallint,
    sessions            bigint   NOT NULL,
    ended_completed     bigint   NOT NULL,
    ended_user_exit     bigint   NOT NULL,
    ended_idle_timeout  bigint   NOT NULL,
    ended_error         bigint   NOT NULL,
    ended_kiosk_restart bigint   NOT NULL,
    identified          bigint   NOT NULL,
    anonymous           bigint   NOT NULL,
    level_1             bigint   NOT NULL,
    level_2             bigint   NOT NULL,
    level_3             bigint   NOT NULL,
    level_4             bigint   NOT NULL,
    level_5             bigint   NOT NULL,
    PRIMARY KEY (day, city, centre)
);
CREATE INDEX report_centre_daily_centre ON report_centre_daily (centre, day);

-- One follow-up (整改) per 差评 (level 1-2), keyed on the rating event: redelivery adds none.
CREATE TABLE report_followups (
    event_id    uuid        PRIMARY KEY,
    kiosk       text        NOT NULL,
    city        text        NOT NULL,
    centre      text        NOT NULL,
    item        text        NOT NULL,
    level       smallint    NOT NULL CHECK (level BETWEEN 1 AND 2),
    reasons     text[]      NOT NULL,
    rated_at    timestamptz NOT NULL,
    rated_day   date        NOT NULL,
    due_day     date        NOT NULL,
    status      text        NOT NULL DEFAULT 'open'
                            CHECK (status IN ('open', 'answered', 'closed')),
    answer      text CHECK (answer IS NULL OR length(answer) BETWEEN 1 AND 2000),
    answered_by text,
    answered_at timestamptz,
    closed_by   text,
    closed_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (status = 'open' OR answer IS NOT NULL)
);
CREATE INDEX report_followups_status ON report_followups (status, due_day);
CREATE INDEX report_followups_day ON report_followups (rated_day, centre);

-- A consenting resident's grade 2-3 readings, for the community doctor's early-warning list:
-- the pseudonym (key id + HMAC) and the values only.
CREATE TABLE report_high_bp (
    event_id       uuid             PRIMARY KEY,
    key_id         text             NOT NULL,
    subject        text             NOT NULL,
    session_id     uuid             NOT NULL,
    taken_at       timestamptz      NOT NULL,
    day            date             NOT NULL,
    city           text             NOT NULL,
    centre         text             NOT NULL,
    classification text             NOT NULL,
    systolic       double precision NOT NULL,
    diastolic      double precision NOT NULL,
    heart_rate     double precision
);
CREATE INDEX report_high_bp_subject ON report_high_bp (subject, taken_at);
CREATE INDEX report_high_bp_day ON report_high_bp (day);
