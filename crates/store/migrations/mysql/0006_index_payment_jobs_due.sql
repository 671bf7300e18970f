-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE INDEX IF NOT EXISTS payment_jobs_due ON payment_jobs (due_at);
