-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
CREATE INDEX IF NOT EXISTS refund_jobs_due ON refund_jobs (due_at);
