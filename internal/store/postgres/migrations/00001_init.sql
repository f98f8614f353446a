-- The first schema: incidents with their timeline and action items, API
-- tokens, and the change log. Times are timestamptz (microseconds).

-- +goose Up
CREATE TABLE incidents (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- INC-<n>
    title           text        NOT NULL,
    severity        text        NOT NULL CHECK (severity IN ('SEV1', 'SEV2', 'SEV3', 'SEV4')),
    status          text        NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'mitigated', 'resolved', 'closed')),
    services        text[]      NOT NULL DEFAULT '{}',
    labels          jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    commander       text        NOT NULL DEFAULT '',
    communications  text        NOT NULL DEFAULT '',
    scribe          text        NOT NULL DEFAULT '',
    responders      text[]      NOT NULL DEFAULT '{}',
    impact          jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(impact) = 'object'),
    root_cause      text        NOT NULL DEFAULT '',
    cause           text        NOT NULL DEFAULT '',
    resolution      text        NOT NULL DEFAULT '',
    drill           boolean     NOT NULL DEFAULT false,
    created_by      text        NOT NULL,
    detected_at     timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    acknowledged_at timestamptz,
    mitigated_at    timestamptz,
    resolved_at     timestamptz,
    closed_at       timestamptz,
    version         bigint      NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX incidents_created ON incidents (created_at DESC, id DESC);
CREATE INDEX incidents_status ON incidents (status);
CREATE INDEX incidents_services ON incidents USING gin (services);

-- The timeline is append-only: a trigger refuses updates, deletes and
-- truncation. payload is json, not jsonb, to keep it byte for byte.
CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint      NOT NULL REFERENCES incidents (id),
    at          timestamptz NOT NULL,
    kind        text        NOT NULL CHECK (kind <> ''),
    actor       text        NOT NULL,
    text        text        NOT NULL,
    payload     json
);
CREATE INDEX events_incident_at ON events (incident_id, at, id);

-- +goose StatementBegin
CREATE FUNCTION sitrep_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the incident timeline is append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION sitrep_events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION sitrep_events_append_only();

CREATE TABLE action_items (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint      NOT NULL REFERENCES incidents (id),
    title       text        NOT NULL,
    owner       text        NOT NULL DEFAULT '',
    due         timestamptz,
    state       text        NOT NULL CHECK (state IN ('open', 'done')),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    done_at     timestamptz,
    version     bigint      NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX action_items_incident ON action_items (incident_id, created_at, id);

-- Only the SHA-256 of a token's secret is stored.
CREATE TABLE tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    role       text        NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
    hash       text        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL
);

-- doc is the whole change as JSON (json, not jsonb: kept byte for byte,
-- unknown fields included); the other columns are copies for querying.
CREATE TABLE changes (
    id      text PRIMARY KEY,
    at      timestamptz NOT NULL,
    kind    text        NOT NULL,
    service text        NOT NULL DEFAULT '',
    doc     json        NOT NULL CHECK (json_typeof(doc) = 'object')
);
CREATE INDEX changes_at ON changes (at, id);

-- +goose Down
DROP TABLE changes;
DROP TABLE tokens;
DROP TABLE action_items;
DROP TABLE events;
DROP FUNCTION sitrep_events_append_only();
DROP TABLE incidents;
