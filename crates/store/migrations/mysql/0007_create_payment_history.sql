-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE TABLE IF NOT EXISTS payment_history (
    payment_id  VARCHAR(40) NOT NULL,
    seq         BIGINT      NOT NULL,
    at          BIGINT      NOT NULL,
    from_status VARCHAR(16),
    to_status   VARCHAR(16) NOT NULL,
    event       VARCHAR(64) NOT NULL,
    detail      TEXT,
    PRIMARY KEY (payment_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
