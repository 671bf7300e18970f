-- PostgreSQL flavour of sqlite/0004_cash_links.sql.
ALTER TABLE payments ADD COLUMN IF NOT EXISTS qr_type VARCHAR(16) NOT NULL DEFAULT 'dynamic';

CREATE TABLE IF NOT EXISTS cash_links (
    register_id  VARCHAR(64)  NOT NULL PRIMARY KEY,
    provider     VARCHAR(64)  NOT NULL,
    qr_id        VARCHAR(64)  NOT NULL,
    payload      TEXT         NOT NULL,
    store_id     VARCHAR(64),
    legal_entity VARCHAR(128),
    created_at   BIGINT       NOT NULL,
    CONSTRAINT cash_links_qr UNIQUE (provider, qr_id)
);
