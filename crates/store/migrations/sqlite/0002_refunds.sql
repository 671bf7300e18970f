-- Refunds, their history and jobs; the late-payment handling mark on payments.
-- Same portability rules as 0001: text ids, BIGINT kopecks and milliseconds.

-- 'refund' or 'flag': what qrpayd did about a payment the customer completed after it had
-- been closed (late_payment_policy at that moment). NULL for payments that were not late.
ALTER TABLE payments ADD COLUMN late_action VARCHAR(16);

CREATE TABLE refunds (
    id              VARCHAR(40)   NOT NULL PRIMARY KEY,  -- rf_<uuidv7 hex>; also the bank's refundId
    payment_id      VARCHAR(40)   NOT NULL,
    register_id     VARCHAR(64)   NOT NULL,
    idempotency_key VARCHAR(255)  NOT NULL,
    request_hash    CHAR(64)      NOT NULL,
    amount          BIGINT        NOT NULL,              -- kopecks
    reason          VARCHAR(1024),
    status          VARCHAR(16)   NOT NULL,              -- RefundState::as_db_str
    automatic       SMALLINT      NOT NULL DEFAULT 0,    -- made by the late-payment policy
    failure_code    VARCHAR(64),
    failure_message TEXT,
    version         INTEGER       NOT NULL DEFAULT 0,
    created_at      BIGINT        NOT NULL,
    updated_at      BIGINT        NOT NULL,
    finished_at     BIGINT,
    CONSTRAINT refunds_idempotency UNIQUE (register_id, idempotency_key)
);

CREATE INDEX refunds_payment ON refunds (payment_id);

CREATE TABLE refund_jobs (
    refund_id   VARCHAR(40) NOT NULL PRIMARY KEY,
    due_at      BIGINT      NOT NULL,
    attempts    INTEGER     NOT NULL DEFAULT 0,
    lease_until BIGINT      NOT NULL DEFAULT 0,
    last_error  TEXT
);

CREATE INDEX refund_jobs_due ON refund_jobs (due_at);

CREATE TABLE refund_history (
    refund_id   VARCHAR(40) NOT NULL,
    seq         INTEGER     NOT NULL,
    at          BIGINT      NOT NULL,
    from_status VARCHAR(16),
    to_status   VARCHAR(16) NOT NULL,
    event       VARCHAR(32) NOT NULL,
    detail      TEXT,
    PRIMARY KEY (refund_id, seq)
);

CREATE INDEX payments_created ON payments (created_at);
