-- Cash-register links (one printed static QR per register, activated per purchase) and the
-- QR kind of each payment.

-- 'dynamic' (a QR per payment), 'cash_register' (the register's link, activated), 'customer'
-- (the customer's QR, scanned by the register).
ALTER TABLE payments ADD COLUMN qr_type VARCHAR(16) NOT NULL DEFAULT 'dynamic';

CREATE TABLE cash_links (
    register_id  VARCHAR(64)  NOT NULL PRIMARY KEY,
    provider     VARCHAR(64)  NOT NULL,
    qr_id        VARCHAR(64)  NOT NULL,
    payload      TEXT         NOT NULL,
    store_id     VARCHAR(64),            -- chains: which store the register stands in
    legal_entity VARCHAR(128),           -- chains: whose account the link pays into
    created_at   BIGINT       NOT NULL,
    CONSTRAINT cash_links_qr UNIQUE (provider, qr_id)
);
