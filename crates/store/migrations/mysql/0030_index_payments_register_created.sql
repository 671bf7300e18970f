-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent. An index for listings (issue 10; see sqlite/0010).
CREATE INDEX IF NOT EXISTS payments_register_created ON payments (register_id, created_at, id);
