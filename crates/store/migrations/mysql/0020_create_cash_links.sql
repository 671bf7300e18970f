-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE TABLE IF NOT EXISTS cash_links (
    register_id  VARCHAR(64)  NOT NULL PRIMARY KEY,
    provider     VARCHAR(64)  NOT NULL,
    qr_id        VARCHAR(64)  NOT NULL,
    payload      TEXT         NOT NULL,
    store_id     VARCHAR(64),
    legal_entity VARCHAR(128),
    created_at   BIGINT       NOT NULL,
    CONSTRAINT cash_links_qr UNIQUE (provider, qr_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
