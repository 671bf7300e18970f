-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE TABLE IF NOT EXISTS payments (
    id                  VARCHAR(40)   NOT NULL PRIMARY KEY,
    register_id         VARCHAR(64)   NOT NULL,
    idempotency_key     VARCHAR(255)  NOT NULL,
    request_hash        CHAR(64)      NOT NULL,
    amount              BIGINT        NOT NULL,
    currency            CHAR(3)       NOT NULL,
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
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
