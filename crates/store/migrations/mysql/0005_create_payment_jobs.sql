-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE TABLE IF NOT EXISTS payment_jobs (
    payment_id  VARCHAR(40) NOT NULL PRIMARY KEY,
    due_at      BIGINT      NOT NULL,
    attempts    BIGINT      NOT NULL DEFAULT 0,
    lease_until BIGINT      NOT NULL DEFAULT 0,
    last_error  TEXT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
