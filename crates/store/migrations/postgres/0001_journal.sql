-- qrpayd journal, PostgreSQL flavour: the same tables and columns as migrations/sqlite
-- (0001 + 0002), with BIGINT for every integer so all three backends read them alike.

CREATE TABLE IF NOT EXISTS payments (
    id                  VARCHAR(40)   NOT NULL PRIMARY KEY,
    register_id         VARCHAR(64)   NOT NULL,
    idempotency_key     VARCHAR(255)  NOT NULL,
    request_hash        VARCHAR(64)      NOT NULL,
    amount              BIGINT        NOT NULL,
    currency            VARCHAR(3)       NOT NULL,
    provider            VARCHAR(64)   NOT NULL,
    order_ref           VARCHAR(256),
    description         VARCHAR(1024),
    status              VARCHAR(16)   NOT NULL,
    late                BIGINT        NOT NULL DEFAULT 0,
    qr_id               VARCHAR(64),
    qr_payload          TEXT,
    bank_transaction_id VARCHAR(64),
    failure_code        VARCHAR(64),
    failure_message     TEXT,
    version             BIGINT        NOT NULL DEFAULT 0,
    created_at          BIGINT        NOT NULL,
    expires_at          BIGINT        NOT NULL,
    updated_at          BIGINT        NOT NULL,
    paid_at             BIGINT,
    late_action         VARCHAR(16),
    CONSTRAINT payments_idempotency UNIQUE (register_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS payments_qr_id ON payments (qr_id);
CREATE INDEX IF NOT EXISTS payments_register_order ON payments (register_id, order_ref);
CREATE INDEX IF NOT EXISTS payments_created ON payments (created_at);

CREATE TABLE IF NOT EXISTS payment_jobs (
    payment_id  VARCHAR(40) NOT NULL PRIMARY KEY,
    due_at      BIGINT      NOT NULL,
    attempts    BIGINT      NOT NULL DEFAULT 0,
    lease_until BIGINT      NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX IF NOT EXISTS payment_jobs_due ON payment_jobs (due_at);

CREATE TABLE IF NOT EXISTS payment_history (
    payment_id  VARCHAR(40) NOT NULL,
    seq         BIGINT      NOT NULL,
    at          BIGINT      NOT NULL,
    from_status VARCHAR(16),
    to_status   VARCHAR(16) NOT NULL,
    event       VARCHAR(64) NOT NULL,
    detail      TEXT,
    PRIMARY KEY (payment_id, seq)
);

CREATE TABLE IF NOT EXISTS refunds (
    id              VARCHAR(40)   NOT NULL PRIMARY KEY,
    payment_id      VARCHAR(40)   NOT NULL,
    register_id     VARCHAR(64)   NOT NULL,
    idempotency_key VARCHAR(255)  NOT NULL,
    request_hash    VARCHAR(64)      NOT NULL,
    amount          BIGINT        NOT NULL,
    reason          VARCHAR(1024),
    status          VARCHAR(16)   NOT NULL,
    automatic       BIGINT        NOT NULL DEFAULT 0,
    failure_code    VARCHAR(64),
    failure_message TEXT,
    version         BIGINT        NOT NULL DEFAULT 0,
    created_at      BIGINT        NOT NULL,
    updated_at      BIGINT        NOT NULL,
    finished_at     BIGINT,
    CONSTRAINT refunds_idempotency UNIQUE (register_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS refunds_payment ON refunds (payment_id);

CREATE TABLE IF NOT EXISTS refund_jobs (
    refund_id   VARCHAR(40) NOT NULL PRIMARY KEY,
    due_at      BIGINT      NOT NULL,
    attempts    BIGINT      NOT NULL DEFAULT 0,
    lease_until BIGINT      NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX IF NOT EXISTS refund_jobs_due ON refund_jobs (due_at);

CREATE TABLE IF NOT EXISTS refund_history (
    refund_id   VARCHAR(40) NOT NULL,
    seq         BIGINT      NOT NULL,
    at          BIGINT      NOT NULL,
    from_status VARCHAR(16),
    to_status   VARCHAR(16) NOT NULL,
    event       VARCHAR(64) NOT NULL,
    detail      TEXT,
    PRIMARY KEY (refund_id, seq)
);
