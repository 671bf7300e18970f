-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent. An index for listings (issue 10; see sqlite/0010).
CREATE INDEX IF NOT EXISTS payments_paid ON payments (paid_at);
