-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE INDEX IF NOT EXISTS payments_created ON payments (created_at);
