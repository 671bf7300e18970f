//! Store tests on a real SQLite file.

// fixed-dates: dates here are inputs (bank vectors, malformed dates, the manual clock's start);
// the code under test gets its time from the test, never from the wall clock.

use chrono::{DateTime, Duration as Chrono, TimeZone, Utc};
use qrpayd_domain::ids::{IdempotencyKey, PaymentId, ProviderName, QrId, RegisterId};
use qrpayd_domain::money::{Currency, Kopecks};
use qrpayd_domain::payment::{CloseReason, PaymentEvent, PaymentState};

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
        .single()
        .unwrap()
}

async fn store() -> (Store, test_db::TestDb) {
    let db = test_db::fresh().await.unwrap();
    (Store::connect(&db.url).await.unwrap(), db)
}

fn new_payment(n: u128, key: &str) -> NewPayment {
    NewPayment {
        id: PaymentId::from_u128(n),
        register_id: RegisterId::parse("pos-1").unwrap(),
        idempotency_key: IdempotencyKey::parse(key).unwrap(),
        request_hash: "h".into(),
        amount: Kopecks::new(12345).unwrap(),
        currency: Currency::Rub,
        provider: ProviderName::parse("raiffeisen").unwrap(),
        order: None,
        description: None,
        created_at: t0(),
        expires_at: t0() + Chrono::minutes(5),
        qr_type: qrpayd_domain::payment::QrType::Dynamic,
    }
}

fn issued() -> EventDetails {
    EventDetails {
        qr: Some((QrId::parse("AD1").unwrap(), "https://qr.nspk.ru/AD1".into())),
        source: "test",
        ..EventDetails::default()
    }
}

#[tokio::test]
async fn insert_is_idempotent_per_register_key() {
    let (store, _dir) = store().await;
    let first = store
        .insert_payment(&new_payment(1, "k1"), t0())
        .await
        .unwrap();
    assert!(matches!(first, Inserted::New(ref p) if p.state == PaymentState::Creating));
    let again = store
        .insert_payment(&new_payment(2, "k1"), t0())
        .await
        .unwrap();
    let Inserted::Existing(p) = again else {
        panic!("expected the existing payment")
    };
    assert_eq!(p.id, PaymentId::from_u128(1));
    assert!(
        store
            .payment(&PaymentId::from_u128(2))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn transitions_write_history_and_manage_the_job() {
    let (store, _dir) = store().await;
    let id = PaymentId::from_u128(1);
    store
        .insert_payment(&new_payment(1, "k"), t0())
        .await
        .unwrap();
    let poll_at = t0() + Chrono::seconds(1);
    let applied = store
        .apply_event(&id, PaymentEvent::QrIssued, &issued(), t0(), poll_at)
        .await
        .unwrap();
    assert!(matches!(
        applied,
        Applied::Changed {
            from: PaymentState::Creating,
            ..
        }
    ));
    assert_eq!(applied.payment().state, PaymentState::Pending);
    assert_eq!(
        applied.payment().qr.as_ref().map(|q| q.0.as_str()),
        Some("AD1")
    );
    assert_eq!(store.next_job_due().await.unwrap(), Some(poll_at));

    // An illegal event writes nothing.
    let illegal = store
        .apply_event(&id, PaymentEvent::QrIssued, &issued(), t0(), t0())
        .await
        .unwrap();
    assert!(matches!(illegal, Applied::Illegal(..)));

    let paid = EventDetails {
        bank_transaction_id: Some("17998".into()),
        source: "test",
        ..EventDetails::default()
    };
    let applied = store
        .apply_event(&id, PaymentEvent::BankPaid, &paid, t0(), t0())
        .await
        .unwrap();
    assert_eq!(applied.payment().state, PaymentState::Paid);
    assert_eq!(
        applied.payment().bank_transaction_id.as_deref(),
        Some("17998")
    );
    assert_eq!(applied.payment().paid_at, Some(t0()));
    // Final: the job row is gone.
    assert_eq!(store.next_job_due().await.unwrap(), None);
    // A duplicate notification changes nothing.
    let again = store
        .apply_event(&id, PaymentEvent::BankPaid, &paid, t0(), t0())
        .await
        .unwrap();
    assert!(matches!(again, Applied::Unchanged(_)));

    let history = store.history(&id).await.unwrap();
    let states: Vec<&str> = history.iter().map(|h| h.1.as_str()).collect();
    assert_eq!(states, ["creating", "pending", "paid"]);
}

#[tokio::test]
async fn late_payment_is_marked() {
    let (store, _dir) = store().await;
    let id = PaymentId::from_u128(1);
    store
        .insert_payment(&new_payment(1, "k"), t0())
        .await
        .unwrap();
    let d = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    for event in [
        PaymentEvent::QrIssued,
        PaymentEvent::CloseRequested(CloseReason::Cancel),
        PaymentEvent::BankClosed,
    ] {
        let details = if event == PaymentEvent::QrIssued {
            issued()
        } else {
            d.clone()
        };
        store
            .apply_event(&id, event, &details, t0(), t0())
            .await
            .unwrap();
    }
    let p = store.payment(&id).await.unwrap().unwrap();
    assert_eq!((p.state, p.late), (PaymentState::Cancelled, false));
    let applied = store
        .apply_event(&id, PaymentEvent::BankPaid, &d, t0(), t0())
        .await
        .unwrap();
    assert_eq!(
        (applied.payment().state, applied.payment().late),
        (PaymentState::Paid, true)
    );
}

#[tokio::test]
async fn leases_hide_claimed_jobs_until_they_run_out() {
    let (store, _dir) = store().await;
    for n in 1..=3 {
        store
            .insert_payment(
                &new_payment(n, &format!("k{n}")),
                t0() + Chrono::seconds(i64::try_from(n).unwrap()),
            )
            .await
            .unwrap();
    }
    let lease = std::time::Duration::from_secs(30);
    // Only jobs due by now.
    let claimed = store
        .claim_due_jobs(t0() + Chrono::seconds(2), lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    // Claimed ones are leased: a second claim sees only the third once it is due.
    let later = t0() + Chrono::seconds(5);
    let claimed = store.claim_due_jobs(later, lease, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|j| j.target.clone()).collect::<Vec<_>>(),
        [JobTarget::Payment(PaymentId::from_u128(3))]
    );
    // After the lease runs out (a crashed worker), the jobs come back.
    let claimed = store
        .claim_due_jobs(later + Chrono::seconds(31), lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    store
        .reschedule_job(
            &JobTarget::Payment(PaymentId::from_u128(1)),
            later + Chrono::hours(1),
            Some("bank down"),
        )
        .await
        .unwrap();
    let claimed = store
        .claim_due_jobs(later + Chrono::minutes(2), lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
}

#[tokio::test]
async fn concurrent_events_serialise() {
    let (store, _dir) = store().await;
    let id = PaymentId::from_u128(1);
    store
        .insert_payment(&new_payment(1, "k"), t0())
        .await
        .unwrap();
    store
        .apply_event(&id, PaymentEvent::QrIssued, &issued(), t0(), t0())
        .await
        .unwrap();
    let d = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (store, id, d) = (store.clone(), id.clone(), d.clone());
        tasks.push(tokio::spawn(async move {
            let event = if i % 2 == 0 {
                PaymentEvent::BankPaid
            } else {
                PaymentEvent::CloseRequested(CloseReason::Cancel)
            };
            store.apply_event(&id, event, &d, t0(), t0()).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let p = store.payment(&id).await.unwrap().unwrap();
    // Whatever the order, a paid outcome is never overwritten and the history is gapless.
    assert_eq!(p.state, PaymentState::Paid);
    let history = store.history(&id).await.unwrap();
    assert_eq!(i64::try_from(history.len()).unwrap(), p.version + 1);
}

fn new_refund(n: u128, key: &str, amount: i64) -> NewRefund {
    NewRefund {
        id: qrpayd_domain::ids::RefundId::from_u128(n),
        payment_id: PaymentId::from_u128(1),
        register_id: RegisterId::parse("pos-1").unwrap(),
        idempotency_key: IdempotencyKey::parse(key).unwrap(),
        request_hash: "h".into(),
        amount: Kopecks::new(amount).unwrap(),
        reason: None,
        automatic: false,
        sent_at: None,
        created_at: t0(),
    }
}

#[tokio::test]
async fn refunds_never_exceed_the_payment_even_when_racing() {
    let (store, _dir) = store().await;
    // Not refundable before it is paid.
    store
        .insert_payment(&new_payment(1, "k"), t0())
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_refund(&new_refund(1, "r0", 100), t0())
            .await
            .unwrap(),
        RefundInserted::NotRefundable(_)
    ));
    let id = PaymentId::from_u128(1);
    store
        .apply_event(&id, PaymentEvent::QrIssued, &issued(), t0(), t0())
        .await
        .unwrap();
    let d = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    store
        .apply_event(&id, PaymentEvent::BankPaid, &d, t0(), t0())
        .await
        .unwrap();

    // 20 concurrent refunds of 1000 kopecks against 12345: exactly 12 fit.
    let mut tasks = Vec::new();
    for n in 0..20u128 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .insert_refund(&new_refund(100 + n, &format!("r{n}"), 1000), t0())
                .await
                .unwrap()
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            RefundInserted::New(r) => created.push(r.id),
            RefundInserted::Exceeds { remaining, .. } => assert_eq!(remaining.get(), 345),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(created.len(), 12);
    // A failed refund frees its amount.
    let first = created[0].clone();
    let applied = store
        .apply_refund_event(
            &first,
            qrpayd_domain::refund::RefundEvent::BankRefused,
            Some(("x".into(), "y".into())),
            t0(),
            t0(),
        )
        .await
        .unwrap();
    assert!(
        matches!(applied, RefundApplied::Changed(ref r) if r.state == qrpayd_domain::refund::RefundState::Failed)
    );
    assert!(matches!(
        store
            .insert_refund(&new_refund(200, "again", 1345), t0())
            .await
            .unwrap(),
        RefundInserted::New(_)
    ));
    // The key is the register's: the same key returns the same refund.
    assert!(matches!(
        store.insert_refund(&new_refund(201, "again", 1), t0()).await.unwrap(),
        RefundInserted::Existing(r) if r.id == qrpayd_domain::ids::RefundId::from_u128(200)
    ));
}

#[tokio::test]
async fn a_late_payment_gets_its_refund_in_the_same_transaction() {
    let (store, _dir) = store().await;
    let id = PaymentId::from_u128(1);
    store
        .insert_payment(&new_payment(1, "k"), t0())
        .await
        .unwrap();
    store
        .apply_event(&id, PaymentEvent::QrIssued, &issued(), t0(), t0())
        .await
        .unwrap();
    let d = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    store
        .apply_event(
            &id,
            PaymentEvent::CloseRequested(CloseReason::Expire),
            &d,
            t0(),
            t0(),
        )
        .await
        .unwrap();
    store
        .apply_event(&id, PaymentEvent::BankClosed, &d, t0(), t0())
        .await
        .unwrap();
    let mut refund = new_refund(7, "late", 12345);
    refund.automatic = true;
    let late = EventDetails {
        source: "test",
        on_late: Some(LateHandling::Refund(refund)),
        ..EventDetails::default()
    };
    store
        .apply_event(&id, PaymentEvent::BankPaid, &late, t0(), t0())
        .await
        .unwrap();
    let p = store.payment(&id).await.unwrap().unwrap();
    assert_eq!(
        (p.state, p.late, p.late_action.as_deref()),
        (PaymentState::Paid, true, Some("refund"))
    );
    let refunds = store.refunds_of(&id).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert!(refunds[0].automatic);
    assert_eq!(refunds[0].amount.get(), 12345);
    // Its job is due.
    let jobs = store
        .claim_due_jobs(t0(), std::time::Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert!(
        jobs.iter()
            .any(|j| matches!(&j.target, JobTarget::Refund(r) if r == &refunds[0].id))
    );
}

#[tokio::test]
async fn visible_changes_write_events_in_commit_order() {
    let (store, _dir) = store().await;
    let id = PaymentId::from_u128(1);
    store
        .insert_payment(&new_payment(1, "k"), t0())
        .await
        .unwrap();
    store
        .apply_event(&id, PaymentEvent::QrIssued, &issued(), t0(), t0())
        .await
        .unwrap();
    let d = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    // Pending → closing is not visible to registers: no event.
    store
        .apply_event(
            &id,
            PaymentEvent::CloseRequested(CloseReason::Cancel),
            &d,
            t0(),
            t0(),
        )
        .await
        .unwrap();
    store
        .apply_event(&id, PaymentEvent::BankPaid, &d, t0(), t0())
        .await
        .unwrap();
    store
        .insert_refund(&new_refund(1, "r", 100), t0())
        .await
        .unwrap();
    let events = store.events_after(0, None, 100).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["payment.created", "payment.paid", "refund.created"]);
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    let payload: serde_json::Value = serde_json::from_str(&events[1].payload).unwrap();
    assert_eq!(payload["type"], "payment.paid");
    assert_eq!(payload["data"]["status"], "paid");
    assert_eq!(payload["data"]["amount"], 12345);
    assert_eq!(payload["event_id"], events[1].event_id);
    // Another register sees none of them.
    let other = RegisterId::parse("pos-2").unwrap();
    assert!(
        store
            .events_after(0, Some(&other), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.last_event_seq().await.unwrap(), 3);
    // Publishing marks them one by one.
    store.mark_published(1, t0()).await.unwrap();
    let left: Vec<i64> = store
        .unpublished_events(10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(left, [2, 3]);
}

#[tokio::test]
async fn many_writers_never_leave_a_gap_in_the_sequence() {
    let (store, _dir) = store().await;
    let mut tasks = Vec::new();
    for n in 0..16u128 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = PaymentId::from_u128(100 + n);
            store
                .insert_payment(&new_payment(100 + n, &format!("k{n}")), t0())
                .await
                .unwrap();
            store
                .apply_event(&id, PaymentEvent::QrIssued, &issued_as(n), t0(), t0())
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seqs: Vec<i64> = store
        .events_after(0, None, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=16).collect::<Vec<i64>>());
}

fn issued_as(n: u128) -> EventDetails {
    EventDetails {
        qr: Some((
            QrId::parse(&format!("AD{n}")).unwrap(),
            format!("https://qr.nspk.ru/AD{n}"),
        )),
        source: "test",
        ..EventDetails::default()
    }
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_runs_out() {
    let (store, _dir) = store().await;
    let ttl = Chrono::seconds(15);
    assert!(store.try_lease("outbox", "a", t0(), ttl).await.unwrap());
    assert!(
        !store
            .try_lease("outbox", "b", t0() + Chrono::seconds(5), ttl)
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease("outbox", "a", t0() + Chrono::seconds(10), ttl)
            .await
            .unwrap()
    );
    // a stopped renewing: b takes over once the lease ran out.
    assert!(
        !store
            .try_lease("outbox", "b", t0() + Chrono::seconds(20), ttl)
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease("outbox", "b", t0() + Chrono::seconds(26), ttl)
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_lease("outbox", "a", t0() + Chrono::seconds(27), ttl)
            .await
            .unwrap()
    );
}

/// A paid payment 1 of 12345 kopecks.
async fn paid_payment(store: &Store) {
    store
        .insert_payment(&new_payment(1, "k"), t0())
        .await
        .unwrap();
    let id = PaymentId::from_u128(1);
    store
        .apply_event(&id, PaymentEvent::QrIssued, &issued(), t0(), t0())
        .await
        .unwrap();
    let d = EventDetails {
        source: "test",
        ..EventDetails::default()
    };
    store
        .apply_event(&id, PaymentEvent::BankPaid, &d, t0(), t0())
        .await
        .unwrap();
}

#[tokio::test]
async fn only_one_refund_of_a_payment_is_in_flight_for_a_bank_without_refund_ids() {
    let (store, _dir) = store().await;
    paid_payment(&store).await;
    let mut ids = Vec::new();
    for n in 0..3u128 {
        match store
            .insert_refund(&new_refund(10 + n, &format!("f{n}"), 100), t0())
            .await
            .unwrap()
        {
            RefundInserted::New(r) => ids.push(r.id),
            other => panic!("{other:?}"),
        }
    }
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    assert_eq!(
        store.claim_refund_send(a, true, t0()).await.unwrap(),
        SendClaim::Claimed
    );
    assert_eq!(
        store.claim_refund_send(b, true, t0()).await.unwrap(),
        SendClaim::Blocked(a.clone())
    );
    // Sent once: never claimed again (its first attempt may have reached the bank).
    assert_eq!(
        store.claim_refund_send(a, true, t0()).await.unwrap(),
        SendClaim::AlreadySent(t0())
    );
    assert_eq!(store.refund(a).await.unwrap().unwrap().sent_at, Some(t0()));
    // A bank that keys refunds by id needs no exclusivity.
    assert_eq!(
        store.claim_refund_send(b, false, t0()).await.unwrap(),
        SendClaim::Claimed
    );
    // Once the others are final, the next may go.
    for done in [a, b] {
        store
            .apply_refund_event(
                done,
                qrpayd_domain::refund::RefundEvent::BankCompleted,
                None,
                t0(),
                t0(),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store.claim_refund_send(c, true, t0()).await.unwrap(),
        SendClaim::Claimed
    );
    assert_eq!(
        store.claim_refund_send(a, true, t0()).await.unwrap(),
        SendClaim::Final
    );
}

#[tokio::test]
async fn racing_exclusive_claims_let_exactly_one_refund_through() {
    let (store, _dir) = store().await;
    paid_payment(&store).await;
    let mut ids = Vec::new();
    for n in 0..8u128 {
        if let RefundInserted::New(r) = store
            .insert_refund(&new_refund(50 + n, &format!("x{n}"), 100), t0())
            .await
            .unwrap()
        {
            ids.push(r.id);
        }
    }
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_refund_send(&id, true, t0()).await.unwrap() })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap() {
            SendClaim::Claimed => claimed += 1,
            SendClaim::Blocked(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(claimed, 1);
}

#[tokio::test]
async fn automatic_refund_keys_live_apart_from_register_keys() {
    let (store, _dir) = store().await;
    paid_payment(&store).await;
    let payment = PaymentId::from_u128(1);
    // A register uses the key the automatic refund had before.
    let theirs = new_refund(70, &format!("late-payment-refund:{payment}"), 100);
    assert!(matches!(
        store.insert_refund(&theirs, t0()).await.unwrap(),
        RefundInserted::New(_)
    ));
    let ours = NewRefund {
        idempotency_key: IdempotencyKey::automatic("late-payment-refund", &payment),
        automatic: true,
        ..new_refund(71, "unused", 100)
    };
    let inserted = store.insert_refund(&ours, t0()).await.unwrap();
    let RefundInserted::New(refund) = inserted else {
        panic!("{inserted:?}")
    };
    // And it reads back from the journal.
    assert_eq!(
        store
            .refund(&refund.id)
            .await
            .unwrap()
            .unwrap()
            .idempotency_key,
        IdempotencyKey::automatic("late-payment-refund", &payment)
    );
}
