-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent. An index for listings (issue 10; see sqlite/0010).
CREATE INDEX IF NOT EXISTS payments_order_created ON payments (order_ref, created_at, id);
