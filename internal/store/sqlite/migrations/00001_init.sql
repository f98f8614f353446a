-- The first schema: incidents with their timeline and action items, API
-- tokens, and the change log. Times are TEXT in the fixed-width UTC form
-- 2006-01-02T15:04:05.000000Z, so that text order is time order. Lists and
-- maps are JSON text. STRICT tables reject values of the wrong type.

-- +goose Up
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: INC-<n> is public
    title           TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('SEV1', 'SEV2', 'SEV3', 'SEV4')),
    status          TEXT    NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'mitigated', 'resolved', 'closed')),
    services        TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(services) = 'array'),
    labels          TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(labels) = 'object'),
    commander       TEXT    NOT NULL DEFAULT '',
    communications  TEXT    NOT NULL DEFAULT '',
    scribe          TEXT    NOT NULL DEFAULT '',
    responders      TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(responders) = 'array'),
    impact          TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(impact) = 'object'),
    root_cause      TEXT    NOT NULL DEFAULT '',
    cause           TEXT    NOT NULL DEFAULT '',
    resolution      TEXT    NOT NULL DEFAULT '',
    drill           INTEGER NOT NULL DEFAULT 0 CHECK (drill IN (0, 1)),
    created_by      TEXT    NOT NULL,
    detected_at     TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    acknowledged_at TEXT,
    mitigated_at    TEXT,
    resolved_at     TEXT,
    closed_at       TEXT,
    version         INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
) STRICT;
CREATE INDEX incidents_created ON incidents (created_at DESC, id DESC);
CREATE INDEX incidents_status ON incidents (status);

-- The timeline is append-only: the triggers refuse any update or delete.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    time        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind <> ''),
    actor       TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    payload     TEXT CHECK (payload IS NULL OR json_valid(payload))
) STRICT;
CREATE INDEX events_incident_time ON events (incident_id, time, id);

-- +goose StatementBegin
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the incident timeline is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the incident timeline is append-only');
END;
-- +goose StatementEnd

CREATE TABLE action_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    title       TEXT    NOT NULL,
    owner       TEXT    NOT NULL DEFAULT '',
    due         TEXT,
    state       TEXT    NOT NULL CHECK (state IN ('open', 'done')),
    created_by  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    done_at     TEXT,
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
) STRICT;
CREATE INDEX action_items_incident ON action_items (incident_id, created_at, id);

-- Only the SHA-256 of a token's secret is stored.
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) STRICT;

-- doc is the whole change as JSON, unknown fields included; the other
-- columns are copies of its fields for querying.
CREATE TABLE changes (
    id      TEXT PRIMARY KEY,
    time    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    service TEXT NOT NULL DEFAULT '',
    doc     TEXT NOT NULL CHECK (json_type(doc) = 'object')
) STRICT;
CREATE INDEX changes_time ON changes (time, id);

-- +goose Down
DROP TABLE changes;
DROP TABLE tokens;
DROP TABLE action_items;
DROP TABLE events;
DROP TABLE incidents;
