-- qrpayd journal, SQLite flavour. Written to port to MariaDB 10.11 and PostgreSQL 15 without
-- redesign: ids are text, money is BIGINT kopecks, times are BIGINT milliseconds since the
-- Unix epoch (UTC), JSON (when we need it) is TEXT. No backend-specific types.

CREATE TABLE payments (
    id                  VARCHAR(40)   NOT NULL PRIMARY KEY,  -- pay_<uuidv7 hex>; also the bank `order`
    register_id         VARCHAR(64)   NOT NULL,
    idempotency_key     VARCHAR(255)  NOT NULL,
    request_hash        CHAR(64)      NOT NULL,              -- sha256 of the create request, for key reuse checks
    amount              BIGINT        NOT NULL,              -- kopecks
    currency            CHAR(3)       NOT NULL,
    provider            VARCHAR(64)   NOT NULL,
    order_ref           VARCHAR(256),                        -- the register's sale receipt id
    description         VARCHAR(1024),
    status              VARCHAR(16)   NOT NULL,              -- PaymentState::as_db_str
    late                SMALLINT      NOT NULL DEFAULT 0,    -- paid after we had closed or failed it
    qr_id               VARCHAR(64),
    qr_payload          TEXT,
    bank_transaction_id VARCHAR(64),
    failure_code        VARCHAR(64),
    failure_message     TEXT,
    version             INTEGER       NOT NULL DEFAULT 0,    -- bumped by every state change
    created_at          BIGINT        NOT NULL,
    expires_at          BIGINT        NOT NULL,
    updated_at          BIGINT        NOT NULL,
    paid_at             BIGINT,
    CONSTRAINT payments_idempotency UNIQUE (register_id, idempotency_key)
);

CREATE INDEX payments_qr_id ON payments (qr_id);
CREATE INDEX payments_register_order ON payments (register_id, order_ref);

-- One row per payment that is not final yet: the durable "someone must look at this again"
-- marker. Workers claim due rows with a lease; a crashed worker's lease runs out and another
-- claim picks the row up. The row is deleted in the transaction that makes the payment final.
CREATE TABLE payment_jobs (
    payment_id  VARCHAR(40) NOT NULL PRIMARY KEY,
    due_at      BIGINT      NOT NULL,
    attempts    INTEGER     NOT NULL DEFAULT 0,
    lease_until BIGINT      NOT NULL DEFAULT 0,
    last_error  TEXT
);

CREATE INDEX payment_jobs_due ON payment_jobs (due_at);

-- Every state change, in order: the audit trail and, later, the event outbox's source.
CREATE TABLE payment_history (
    payment_id  VARCHAR(40) NOT NULL,
    seq         INTEGER     NOT NULL,                        -- payments.version after the change
    at          BIGINT      NOT NULL,
    from_status VARCHAR(16),
    to_status   VARCHAR(16) NOT NULL,
    event       VARCHAR(32) NOT NULL,
    detail      TEXT,
    PRIMARY KEY (payment_id, seq)
);
