-- The event outbox (written in the same transaction as the state change it describes), its
-- sequence counter, and named leases (which instance publishes the outbox).

CREATE TABLE events (
    seq          BIGINT       NOT NULL PRIMARY KEY,  -- from event_counter: commit order = seq order
    event_id     VARCHAR(40)  NOT NULL,              -- ev_<uuidv7 hex>, for consumers to de-duplicate
    type         VARCHAR(40)  NOT NULL,              -- payment.paid, refund.succeeded, …
    register_id  VARCHAR(64)  NOT NULL,
    payment_id   VARCHAR(40)  NOT NULL,
    refund_id    VARCHAR(40),
    created_at   BIGINT       NOT NULL,
    payload      TEXT         NOT NULL,              -- JSON snapshot of the payment or refund
    published_at BIGINT,                             -- when the broker confirmed it (NULL: not yet)
    CONSTRAINT events_event_id UNIQUE (event_id)
);

CREATE INDEX events_unpublished ON events (published_at, seq);
CREATE INDEX events_register ON events (register_id, seq);

CREATE TABLE event_counter (
    name  VARCHAR(16) NOT NULL PRIMARY KEY,
    value BIGINT      NOT NULL
);

INSERT INTO event_counter (name, value) VALUES ('events', 0);

CREATE TABLE leases (
    name       VARCHAR(32) NOT NULL PRIMARY KEY,
    holder     VARCHAR(64) NOT NULL,
    expires_at BIGINT      NOT NULL
);
