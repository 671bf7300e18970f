-- qrpayd journal, MariaDB flavour: one DDL statement per file (see sqlite/0006_refund_sent_at.sql).
ALTER TABLE refunds ADD COLUMN IF NOT EXISTS sent_at BIGINT NULL;
