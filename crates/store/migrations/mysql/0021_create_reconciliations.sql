-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
-- Reconciliation runs; see sqlite/0005_reconciliations.sql.
CREATE TABLE IF NOT EXISTS reconciliations (
    id            VARCHAR(40)  NOT NULL PRIMARY KEY,
    ran_at        BIGINT       NOT NULL,
    registry_date VARCHAR(10),
    differences   BIGINT       NOT NULL,
    report        MEDIUMTEXT   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
