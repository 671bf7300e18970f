-- PostgreSQL flavour of sqlite/0006_refund_sent_at.sql.
ALTER TABLE refunds ADD COLUMN IF NOT EXISTS sent_at BIGINT;
UPDATE refunds SET sent_at = created_at WHERE sent_at IS NULL;
