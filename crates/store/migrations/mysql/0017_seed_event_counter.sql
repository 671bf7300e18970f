-- qrpayd journal, MariaDB flavour: one DDL statement per file (MariaDB DDL is not
-- transactional), idempotent, utf8mb4 with binary (case-sensitive) collation.
INSERT IGNORE INTO event_counter (name, value) VALUES ('events', 0);
