-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE TABLE IF NOT EXISTS events (
    seq          BIGINT       NOT NULL PRIMARY KEY,  
    event_id     VARCHAR(40)  NOT NULL,              
    type         VARCHAR(40)  NOT NULL,              
    register_id  VARCHAR(64)  NOT NULL,
    payment_id   VARCHAR(40)  NOT NULL,
    refund_id    VARCHAR(40),
    created_at   BIGINT       NOT NULL,
    payload      TEXT         NOT NULL,              
    published_at BIGINT,                             
    CONSTRAINT events_event_id UNIQUE (event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
