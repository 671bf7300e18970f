-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE INDEX IF NOT EXISTS payments_register_order ON payments (register_id, order_ref);
