-- Reconciliation runs (`qrpayd reconcile`): the report of each, so the journal page can show
-- the last one's differences. Same portability rules as 0001.
CREATE TABLE reconciliations (
    id            VARCHAR(40)  NOT NULL PRIMARY KEY,  -- rec_<uuidv7 hex>
    ran_at        BIGINT       NOT NULL,              -- milliseconds, UTC
    registry_date VARCHAR(10),                        -- the registry's Moscow day, YYYY-MM-DD
    differences   BIGINT       NOT NULL,
    report        TEXT         NOT NULL               -- the report as JSON (reconcile --format json)
);
