-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE TABLE IF NOT EXISTS refunds (
    id              VARCHAR(40)   NOT NULL PRIMARY KEY,
    payment_id      VARCHAR(40)   NOT NULL,
    register_id     VARCHAR(64)   NOT NULL,
    idempotency_key VARCHAR(255)  NOT NULL,
    request_hash    CHAR(64)      NOT NULL,
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
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
