-- Refunds from before `sent_at` existed were sent at creation (see sqlite/0006_refund_sent_at.sql).
UPDATE refunds SET sent_at = created_at WHERE sent_at IS NULL;
