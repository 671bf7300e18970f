-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
ALTER TABLE payments ADD COLUMN IF NOT EXISTS qr_type VARCHAR(16) NOT NULL DEFAULT 'dynamic';
