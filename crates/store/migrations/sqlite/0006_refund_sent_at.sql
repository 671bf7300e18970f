-- When a refund was first sent to the bank (or the bank made it on its own, turning a cancel
-- into a refund). A refund whose first attempt may have reached the bank is never sent again
-- to a bank without refund ids (T-Bank SBP). Refunds from before this column existed were sent
-- at creation by the code of the time: they count as sent.
ALTER TABLE refunds ADD COLUMN sent_at BIGINT;
UPDATE refunds SET sent_at = created_at;
