-- PostgreSQL flavour of sqlite/0005_reconciliations.sql.
CREATE TABLE IF NOT EXISTS reconciliations (
    id            VARCHAR(40)  NOT NULL PRIMARY KEY,
    ran_at        BIGINT       NOT NULL,
    registry_date VARCHAR(10),
    differences   BIGINT       NOT NULL,
    report        TEXT         NOT NULL
);
