-- Indexes for every listing (issue 10): each filter combination of GET /v1/payments, the
-- journal page and the command line, the display's "latest payment of a register",
-- reconciliation (paid or refunded in a period), the export and the failed-refunds list walks
-- an index instead of the whole table. `crates/store/src/plans.rs` checks the plans on SQLite.

CREATE INDEX payments_register_created ON payments (register_id, created_at, id);
CREATE INDEX payments_order_created ON payments (order_ref, created_at, id);
CREATE INDEX payments_status_created ON payments (status, created_at, id);
CREATE INDEX payments_late_created ON payments (late, created_at, id);
CREATE INDEX payments_paid ON payments (paid_at);
CREATE INDEX refunds_created ON refunds (created_at);
CREATE INDEX refunds_status_finished ON refunds (status, finished_at);
CREATE INDEX refunds_status_created ON refunds (status, created_at);
