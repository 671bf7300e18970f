"""The source of crates/service/src/api/openapi.json, the POS API's OpenAPI 3.1 document.

openapi.json is generated: edit this file, never the JSON. Regenerate from the workspace root:

    python3 tools/openapi/gen.py > crates/service/src/api/openapi.json

then check it with `cargo test -p qrpayd-service --test openapi` (see tools/openapi/README.md
for the optional validators). Python 3 standard library only.
"""
import json
import sys

REF = lambda name: {"$ref": f"#/components/schemas/{name}"}

PAYMENT_ID = "pay_0190a1b2c3d47e5f8a6b7c8d9e0f1a2b"
QR_ID = "AD1KSE14O9EAV3ENU6H1DQUO93FCMAE1"
PAYLOAD = f"https://qr.nspk.ru/{QR_ID}?type=02&bank=100000000007&sum=12345&cur=RUB&crc=A667"
REFUND_ID = "rf_0190a1f0a8b27c3d9e4f5a6b7c8d9e0f"
FAILED_REFUND_ID = "rf_0190a1f3c5d67e8f9a0b1c2d3e4f5a6b"
# A second payment, paid after it had expired (late), for the late and listing examples.
LATE_PAYMENT_ID = "pay_0190a1bf6e9a7b2c8d3e4f5a6b7c8d9e"
LATE_QR_ID = "AD1KSE2B7PQ0H4M5R6T8V9N1C3F5J7L9"
LATE_PAYLOAD = f"https://qr.nspk.ru/{LATE_QR_ID}?type=02&bank=100000000007&sum=12345&cur=RUB&crc=3B1E"
LATE_REFUND_ID = "rf_0190a1c4e1d27f3a8b4c5d6e7f8a9b0c"
AUTOMATIC_REASON = "automatic refund: the customer paid after the payment was closed"

PENDING = {
    "id": PAYMENT_ID,
    "status": "pending",
    "amount": 12345,
    "currency": "RUB",
    "provider": "raiffeisen",
    "order": "sale-0042/17",
    "description": "Order 0042, store 17",
    "qr_type": "dynamic",
    "qr": {"payload": PAYLOAD, "qr_id": QR_ID},
    "late": False,
    "late_action": None,
    "failure": None,
    "refunded_amount": 0,
    "refunds": [],
    "created_at": "2025-03-14T09:26:53.589Z",
    "expires_at": "2025-03-14T09:31:53.589Z",
    "updated_at": "2025-03-14T09:26:53.842Z",
    "paid_at": None,
}
PAID = dict(PENDING, status="paid", updated_at="2025-03-14T09:27:40.311Z", paid_at="2025-03-14T09:27:40.311Z")
CANCELLED = dict(PENDING, status="cancelled", updated_at="2025-03-14T09:28:02.107Z")
FAILED_CREATE = dict(
    PENDING,
    status="failed",
    qr=None,
    failure={"code": "bank_timeout", "message": "the bank did not answer in time"},
    updated_at="2025-03-14T09:26:58.601Z",
)

# Refunds (`refund_json`).
REFUND_PENDING = {
    "id": REFUND_ID,
    "payment_id": PAYMENT_ID,
    "amount": 5000,
    "status": "pending",
    "reason": "return receipt 0042-R1",
    "automatic": False,
    "failure": None,
    "created_at": "2025-03-14T10:05:12.034Z",
    "updated_at": "2025-03-14T10:05:12.377Z",
    "finished_at": None,
}
REFUND_SUCCEEDED = dict(REFUND_PENDING, status="succeeded", updated_at="2025-03-14T10:05:14.518Z", finished_at="2025-03-14T10:05:14.518Z")
REFUND_FAILED = dict(
    REFUND_PENDING,
    id=FAILED_REFUND_ID,
    amount=7345,
    status="failed",
    reason=None,
    failure={"code": "bank_rejected", "message": "ERROR.REFUND_INSUFFICIENT_FUNDS: Недостаточно средств для возврата"},
    created_at="2025-03-14T10:12:40.118Z",
    updated_at="2025-03-14T10:12:40.402Z",
    finished_at="2025-03-14T10:12:40.402Z",
)
# The paid payment after one succeeded partial refund.
PAID_REFUNDED = dict(PAID, refunded_amount=5000, refunds=[REFUND_SUCCEEDED])
# The same while that refund is still with the bank (it reserves the amount, but is not counted
# in `refunded_amount` yet).
PAID_REFUNDING = dict(PAID, refunds=[REFUND_PENDING])

LATE_REFUND = {
    "id": LATE_REFUND_ID,
    "payment_id": LATE_PAYMENT_ID,
    "amount": 12345,
    "status": "succeeded",
    "reason": AUTOMATIC_REASON,
    "automatic": True,
    "failure": None,
    "created_at": "2025-03-14T09:46:31.877Z",
    "updated_at": "2025-03-14T09:46:34.120Z",
    "finished_at": "2025-03-14T09:46:34.120Z",
}
# Expired, then the bank reported the money: paid late; the default policy refunded it.
LATE = dict(
    PENDING,
    id=LATE_PAYMENT_ID,
    status="paid",
    order="sale-0043/17",
    description="Order 0043, store 17",
    qr={"payload": LATE_PAYLOAD, "qr_id": LATE_QR_ID},
    late=True,
    late_action="refund",
    refunded_amount=12345,
    refunds=[LATE_REFUND],
    created_at="2025-03-14T09:41:10.204Z",
    expires_at="2025-03-14T09:46:10.204Z",
    updated_at="2025-03-14T09:46:31.877Z",
    paid_at="2025-03-14T09:46:31.877Z",
)
# The same under `late_payment_policy = "flag"`: no refund, a person decides.
LATE_FLAGGED = dict(LATE, late_action="flag", refunded_amount=0, refunds=[])


def err(code, message, payment=None, refund=None):
    body = {"error": {"code": code, "message": message}}
    if payment is not None:
        body["payment"] = payment
    if refund is not None:
        body["refund"] = refund
    return body


def ex(summary, value):
    return {"summary": summary, "value": value}


def error_response(description, examples):
    return {
        "description": description,
        "content": {"application/json": {"schema": REF("Error"), "examples": examples}},
    }


# code -> (HTTP status(es), description). Order = enum order (new codes go at the end).
ERROR_CODES = [
    ("unauthorized", "401", "No `Authorization` header, not `Bearer <key>`, or a key that is neither a register's `api_key` nor the `admin_api_key`."),
    ("not_found", "404", "No such payment or refund for this key (unknown id, malformed id, or another register's), or no such endpoint (also `GET /demo` without a `[sandbox]`, and an unknown `/assets/` file)."),
    ("method_not_allowed", "405", "The path exists but does not accept this HTTP method."),
    ("invalid_body", "400", "The request body could not be read (e.g. the connection broke while sending it)."),
    ("invalid_json", "400", "The body is not valid JSON, or is valid JSON but not an object."),
    ("invalid_field", "422", "`currency`, `provider`, `order` or `description` of a payment, or `reason` of a refund, is present but not a string (send the field as a string, or null / leave it out)."),
    ("invalid_amount", "422", "`amount` is missing, not a number, not a whole number of kopecks (a decimal point, as in rubles, is refused), or not positive. Payments and refunds alike."),
    ("amount_too_large", "422", "A payment's `amount` exceeds the configured `max_amount_kopecks` (default 100000000 = 1 000 000 RUB)."),
    ("unsupported_currency", "422", "`currency` is not `RUB` (SBP settles in rubles only; the code is case-sensitive)."),
    ("unknown_provider", "422 / 404", "The named provider is not configured: 422 on `POST /v1/payments`, 404 on `POST /v1/callbacks/{provider}`."),
    ("provider_required", "422", "The request names no `provider`, the register has no default provider, and more than one provider is configured."),
    ("invalid_order", "422", "`order` is empty or blank, longer than 64 characters, or contains control characters."),
    ("invalid_description", "422", "`description` is longer than 140 characters or contains control characters."),
    ("idempotency_key_required", "400", "`POST /v1/payments` or `POST /v1/payments/{id}/refunds` without an `Idempotency-Key` header."),
    ("invalid_idempotency_key", "400", "`Idempotency-Key` is empty, longer than 255 characters, or not printable ASCII without spaces."),
    ("idempotency_key_reused", "422", "This register already used the `Idempotency-Key` for a different request. On a payment create `payment` is the payment the key belongs to; on a refund `refund` is the refund it belongs to. Use a new key for a new payment or refund."),
    ("payment_not_ready", "409", "The payment is still being created (its QR is being issued by the bank): a replay of a create that is still in flight, a cancel that came too early, or a QR picture or receipt slip asked for before the QR exists. Retry in a moment. `payment` is included (not for pictures and slips)."),
    ("already_paid", "409", "Cancel refused: the customer has paid (possibly while the cancel was running). `payment` is the paid payment; complete the sale or refund it (`POST /v1/payments/{id}/refunds`)."),
    ("payment_not_cancellable", "409", "Cancel refused: the payment is already `failed` or `expired`. `payment` is included."),
    ("bank_timeout", "504", "The bank did not answer in time. On create the payment is `failed` (no QR was shown; create a new payment with a new key). On cancel the cancellation is recorded and qrpayd keeps closing the QR in the background: poll the payment. (A refund never answers it: the refund stays `pending` and qrpayd asks the bank again.)"),
    ("bank_unavailable", "502 / 503", "The bank could not be reached or answered with a server error (or, on cancel, has not confirmed yet, e.g. the customer is paying right now). On create the payment is `failed` — except a `cash_register` activation whose answer was lost, which stays `pending` while qrpayd cancels it at the bank (poll it); on cancel qrpayd keeps closing the QR in the background: poll the payment. (A refund never answers it: the refund stays `pending`.) On a bank callback (503): the notification is verified and ours but the bank could not be asked to confirm it; the bank sends it again."),
    ("bank_rejected", "502", "The bank refused the request with a business error (its code and text are in `message`). On create the payment is `failed`. On a refund the refund is `failed` and included as `refund` (nothing was refunded; the amount is free again); a retry with the same key gets the same answer."),
    ("bank_protocol_error", "502", "The bank's answer was not acceptable (malformed, or amount / QR / order not matching what qrpayd asked for). On create the payment is `failed`; on cancel qrpayd keeps trying. (A refund never answers it: the refund stays `pending`.)"),
    ("internal_error", "500", "qrpayd could not complete the request (journal failure or a bug); details are in qrpayd's log. Retry (with the same `Idempotency-Key` for a create or a refund)."),
    ("body_too_large", "413", "The request body is larger than 16 KiB."),
    ("invalid_wait", "400", "`wait` is not a whole non-negative number of seconds."),
    ("invalid_signature", "401", "Bank callback: the signature header is missing or does not verify against the provider's secret key."),
    ("malformed_notification", "400", "Bank callback: the signature header is present but the body is not a notification qrpayd understands (bad JSON, bad amount, another terminal's key)."),
    ("database_unavailable", "503", "`GET /healthz` only (inside its `HealthUnavailable` answer, not the `Error` envelope): the journal database does not answer."),
    ("invalid_qr_type", "422", "`qr_type` is not `dynamic`, `cash_register` or `customer`."),
    ("customer_qr_required", "422", "`qr_type` `customer` without `customer_qr` (the scanned text)."),
    ("invalid_customer_qr", "422", "`customer_qr` is empty, longer than 2048 characters or has control characters."),
    ("amount_out_of_range", "422", "The amount is outside what the provider's bank takes for an SBP payment (its documented limits, e.g. T-Bank: 10 … 1 000 000 RUB). Refused before anything is saved or sent to the bank; `message` says the range."),
    ("not_supported_by_provider", "422", "The provider cannot do this kind of payment (see the provider matrix in the README): e.g. `customer` with Raiffeisen or T-Bank, `cash_register` with T-Bank, or a cash-register link of another provider."),
    ("no_cash_link", "409", "A `cash_register` payment, but no cash-register link is bound to the register: `qrpayd links register` or `qrpayd links bind`."),
    ("link_busy", "409", "The register's cash-register link is already activated for an unfinished payment (one live activation per link): finish or cancel it (it is in `payment`)."),
    ("payload_required", "422", "`POST /v1/links/check` without the scanned `payload`."),
    ("unknown_field", "422", "The request body carries a field qrpayd does not know (a typo such as `povider`): a payment takes `amount`, `currency`, `provider`, `order`, `description`; a refund takes `amount`, `reason`. Refused rather than ignored, so a typo never silently falls back to a default."),
    ("invalid_query", "400", "The query string cannot be read (e.g. invalid percent-encoding), or, on `GET /v1/payments`, names an unknown parameter or has a bad value (`status`, `late`, `from`, `to`, `limit`, `register`); on the QR pictures and receipt slips, names a parameter the endpoint does not take."),
    ("admin_read_only", "403", "The admin key (`admin_api_key`) was used for an operation only a register may do: one that changes something (create, cancel, refund), a link check, or a QR picture or receipt slip (a payable QR goes to the register's own screen or printer). The admin key reads payments, refunds and events only; use a register's key."),
    ("forbidden", "403", "`GET /v1/payments?register=...` by a register naming another register: a register lists only its own payments (leave `register` out)."),
    ("invalid_reason", "422", "A refund's `reason` is longer than 140 characters or contains control characters."),
    ("payment_not_refundable", "409", "Refund refused: only a `paid` payment can be refunded (this one is `pending`, `failed`, `expired` or `cancelled`). `payment` is included."),
    ("partial_refund_not_supported", "422", "Refund refused before anything was saved: the payment's bank refunds only whole payments, and `amount` is less than the payment's amount. `payment` is included."),
    ("refund_exceeds_remaining", "409", "Refund refused: `amount` is more than what is left to refund, i.e. the paid amount minus every refund that has not `failed` (refunds still `pending` count). `message` says what is left; `payment` is included with its refunds."),
    ("invalid_size", "400", "`GET /v1/payments/{id}/qr.png` or `qr.svg`: `size` is not a whole number of pixels, or outside 98..4096 (the least is two pixels per module of the QR with its quiet zone; `message` says it)."),
    ("invalid_width", "400", "`GET /v1/payments/{id}/receipt.escpos` or `receipt.txt`: `width` is not `58` or `80` (the receipt paper's width in millimetres)."),
    ("invalid_option", "400", "A QR picture or receipt option has a value qrpayd does not know: `qr` (`native`, `raster`), `lang` (`ru`, `en`), `cut` (`true`, `false`) or `background` (`dark`, `light`)."),
    ("qr_not_payable", "409", "A QR picture or receipt slip was asked for a payment that is no longer `pending` (paid, failed, expired or cancelled): its QR can no longer be paid and must not reach a screen or the receipt tape. Also for a payment whose QR the customer presents (there is none to show)."),
    ("admin_only", "403", "An admin endpoint (`/v1/admin/...`, `GET /metrics`) was called with a register's key: it needs the `admin_api_key`."),
    ("unknown_display", "404", "`GET /display/{register_id}/events`: no customer display at this address: the register does not exist, has no `display_key`, or `key` is wrong (all three look the same)."),
    ("rate_limited", "429", "Too many requests from this client address to the paths that need no register key (bank callbacks, the customer display and its assets, the pages, the embedded sandbox bank, this document): more than `rate_limit_burst` at once or `rate_limit_per_second` on average. `Retry-After` says when to try again. `/healthz` and `/readyz` are never limited."),
    ("too_many_displays", "429", "`GET /display/{register_id}/events`: the register already has `max_display_streams_per_register` display streams open (default 4); the newest gives way, the screens already open keep theirs. `Retry-After` (5 s); the display page retries by itself."),
    ("overloaded", "503", "qrpayd is at a limit that protects the others: the connection cap (`max_connections`; answered at once on the new connection, which is then closed) or, for `qr.png` and `receipt.escpos`, the render pool (`max_concurrent_renders` running and as many waiting). `Retry-After: 1`."),
]

error_table = "\n".join(f"| `{c}` | {s} | {d} |" for c, s, d in ERROR_CODES)

INFO_DESCRIPTION = f"""The point-of-sale API of **qrpayd**, an SBP (Faster Payments System, НСПК) QR-payment integrator. Cash registers and self-service kiosks ask for a QR for a bill, show it to the customer, wait for the outcome, may cancel while waiting, and refund paid payments. The store admin lists and reads every register's payments.

## Conventions

* **Amounts are integers in kopecks** (minor units): `12345` means 123.45 RUB. No field of this API carries rubles with a decimal point. The only currency is `RUB`.
* Timestamps are RFC 3339 in UTC with milliseconds, e.g. `2025-03-14T09:26:53.589Z`.
* Bodies are JSON; request bodies with a field qrpayd does not know are refused (`422 unknown_field`). Errors are `{{"error": {{"code": "...", "message": "..."}}}}`, plus `payment` or `refund` when the register needs it to decide what to do (see `Error`). `code` is a stable snake_case contract (`ErrorCode`): switch on it, never on `message`.
* Unknown paths answer `404 not_found`, a known path with the wrong method `405 method_not_allowed`; request bodies are limited to 16 KiB (`413 body_too_large`).

## Authentication

Every `/v1` call except the bank callbacks (`/v1/callbacks/{{provider}}`) needs `Authorization: Bearer <key>`. A missing, malformed or unknown key answers `401 unauthorized`. Two kinds of key:

* **A register's key** (`registerKey`): the `api_key` of the register's `[[registers]]` entry in the configuration. **A register sees only its own payments and refunds**: another register's payment or refund answers `404 not_found`, exactly like an id that does not exist.
* **The admin key** (`adminKey`): the configuration's `admin_api_key` (absent = no admin access). **Read-only, over every register**, and exactly these: `GET /v1/payments` (and filter by `register`), `GET /v1/payments/{{id}}`, `GET /v1/refunds/{{id}}`, `GET /v1/events` (every register's events), the journal endpoints `/v1/admin/...` and `GET /metrics`. Everything else under `/v1` answers it `403 admin_read_only`: what changes something (create, cancel, refund), `POST /v1/links/check`, and the QR pictures and receipt slips (a payable QR goes to the register's own screen or printer only).

Bank callbacks are authenticated by the bank's signature instead; `/healthz` and `/openapi.json` need no key.

## Limits

qrpayd keeps answering registers when clients misbehave; over a limit the answer is quick, with `Retry-After`, never a stall:

* A request's headers must arrive within `header_read_timeout_seconds` (default 10) of the connection opening or of the previous answer on it (so an idle kept-alive connection closes after that time too); a connection on which no byte moves for `idle_timeout_seconds` (default 120, above `max_wait_seconds`) is closed.
* At most `max_connections` connections are served at once (default 4096, lowered to the open-file limit); one more is answered `503 overloaded` at once and closed.
* Each register keeps at most `max_long_polls_per_register` long-polls open (`?wait=` on payments, refunds and events together; default 8; the admin key has its own). **The oldest gives way**: when one more starts, the oldest is answered at once with the current state, exactly as when its wait runs out (a register waits on one thing at a time; older waits are left over from a reconnect).
* At most `max_display_streams_per_register` display streams per register (default 4); **the newest gives way** (`429 too_many_displays`).
* The paths that need no register key (bank callbacks, displays, pages and assets, the sandbox bank, this document) are rate-limited per client address (`rate_limit_per_second`, default 20, `rate_limit_burst`, default 100): `429 rate_limited`.
* `qr.png` and `receipt.escpos` render off the request threads, `max_concurrent_renders` at once (default 2) and as many waiting: more are `503 overloaded`.

## Idempotency

`POST /v1/payments` and `POST /v1/payments/{{id}}/refunds` require an `Idempotency-Key` header: 1 to 255 printable ASCII characters without spaces, chosen by the register once per attempt (a UUID is fine) and resent unchanged on every retry of that attempt. Keys are scoped per register, and payment keys and refund keys are separate. The payment (or refund) is saved before the bank is called, so a retry after a network error never makes a second QR or a second refund:

* **Same key + same body** (compared after defaults are applied: `currency`, `provider`; for a refund: the same payment, `amount` and `reason`) → the same payment or refund, `201` again with the header `Idempotent-Replayed: true`. If the first payment create is still waiting for the bank, the retry waits for it (up to `bank_timeout_seconds` + 1 s) and answers `409 payment_not_ready` if it is still not done. If the first attempt failed at the bank, the retry gets the same `502`/`504` error carrying the `failed` payment (or the same `502 bank_rejected` carrying the `failed` refund).
* **Same key + different body** → `422 idempotency_key_reused`, carrying the payment (or the refund) the key was first used for.

## Waiting for the outcome (long-poll)

`GET /v1/payments/{{id}}?wait=N` holds the request until the payment is final (not `pending`) or N seconds have passed, then answers with the payment as it is then. N is capped by the configuration's `max_wait_seconds` (default 60): larger values are silently reduced. Without `wait` (or with `wait=0`) the answer is immediate. A register loops on `GET ...?wait=60` until the status is final. `GET /v1/refunds/{{id}}?wait=N` does the same for a refund (final: `succeeded` or `failed`).

## The timeout chain

At startup qrpayd refuses a configuration in which the chain is broken:
`payment_ttl_seconds` (QR lifetime, default 300) + `bank_timeout_seconds` (one bank call, default 5) < `register_timeout_seconds` (the register's own response timeout, default 310), and 1 ≤ `max_wait_seconds` < `register_timeout_seconds`.
So within the QR lifetime plus one bank call (to deactivate the QR and re-check it) every payment reaches a final status, and no single request is held longer than the register waits. Keep the register's timeout at `register_timeout_seconds` or above.

## Statuses

* `pending` — not final: the QR is being issued, is shown and payable, or is being closed (a cancel or expiry is deactivating the QR and asking the bank whether it was paid).
* `paid` — the customer paid; `paid_at` is set. Final (refunds do not change it: see `refunded_amount` and `refunds`).
* `failed` — the bank could not issue a QR (`qr` is null), or the bank declined the payment; `failure` says why. Final.
* `expired` — nobody paid within the QR lifetime (`expires_at`); the QR was deactivated and the bank confirmed nothing was paid. Final.
* `cancelled` — the register cancelled and the bank confirmed nothing was paid. Final.

Closing always asks the bank before deciding, so a customer who pays while the cashier cancels ends `paid` (the cancel answers `409 already_paid`).

## Late payments

Final statuses never change, with one exception: when the bank reports money for a payment that was already `failed`, `expired` or `cancelled`, it becomes `paid` with **`late: true`** (`late` is `false` for every other payment), and qrpayd logs a `LATE PAYMENT` warning. The money must not be lost; what happens next is the configuration's **late-payment policy**, `late_payment_policy`, recorded in the payment's `late_action`:

* `"refund"` (the default) — qrpayd refunds the whole amount automatically: the payment gets a refund with `automatic: true` (listed in `refunds`, counted in `refunded_amount` once it has `succeeded`). If that refund `failed`, a person must act.
* `"flag"` — nothing is refunded; a person completes the sale or refunds the payment (`POST /v1/payments/{{id}}/refunds`).

Registers and the admin find late payments with `GET /v1/payments?late=true`.

## Refunds

`POST /v1/payments/{{id}}/refunds` gives back part or all of a `paid` payment, in kopecks; several partial refunds are allowed while their sum stays within the paid amount. A refund is saved (the amount reserved) before the bank is called, and its id (`rf_...`) is also the bank's refund id: when the bank does not answer in time, qrpayd asks the bank about that same id and never re-sends it under a new one, so a refund cannot happen twice. The bank completes refunds asynchronously: a new refund is usually `pending`; follow it with `GET /v1/refunds/{{id}}?wait=N` or in the payment's `refunds`. Refund statuses: `pending` (not final), `succeeded` (the money went back to the customer), `failed` (the bank refused or declined it; the amount is free to refund again).

## Listing payments

`GET /v1/payments` finds payments by `order`, `status`, `late` and creation time (`from`, `to`), newest first, at most `limit` (default 50, at most 500). A register lists its own payments; the admin key lists every register's and may filter by `register`.

## QR pictures, receipts and the customer display

Registers that cannot draw a QR themselves ask qrpayd: `GET /v1/payments/{{id}}/qr.svg`, `qr.png?size=N` or `qr.txt` (terminal text), and, for a register with no customer screen, the QR slip for the receipt printer: `GET /v1/payments/{{id}}/receipt.escpos?width=58|80&qr=native|raster` (ready ESC/POS bytes, Cyrillic in code page 866) or `receipt.txt`. The QR encodes exactly the payment's `qr.payload`, at error correction level M with a 4-module quiet zone. They read like `GET /v1/payments/{{id}}` (a register's key or the admin key) and exist only while the payment is `pending` (`409 qr_not_payable` afterwards).

A kiosk or customer display opens `GET /display/{{register_id}}?key=<display_key>` (the register's `display_key` from the configuration, not an API key) and is then left alone: the page follows the register's current payment through server-sent events (`/display/{{register_id}}/events`) and shows the QR with the amount and a countdown, then `paid` / `cancelled` / `expired` / `failed` for 10 seconds, then its idle screen; Russian by default, `&lang=en` for English. Every asset comes from qrpayd itself. A display key shows only its register's current payment (amount, QR, status, time left): no payment ids, receipts or refunds, and it opens nothing under `/v1`.

With a `[sandbox]` section, `GET /demo` is a cashier page for trying qrpayd and training staff: it creates, watches, cancels and refunds payments with a register key typed in or given in the URL fragment (`/demo#key=...`, never sent to the server), and pays or declines them through the sandbox bank.

## Error codes

Every code, its HTTP status and its meaning are listed in the `ErrorCode` schema.
"""

payment_schema = {
    "type": "object",
    "description": "A payment as registers see it. Every field is always present; absent values are `null`.",
    "required": [
        "id", "status", "amount", "currency", "provider", "order", "description", "qr_type", "qr",
        "late", "late_action", "failure", "refunded_amount", "refunds",
        "created_at", "expires_at", "updated_at", "paid_at",
    ],
    "properties": {
        "id": {
            "type": "string",
            "description": "qrpayd's payment id: `pay_` and 32 hex digits of a UUIDv7 (ids sort by creation time). Also the `order` qrpayd sends to the bank.",
            "pattern": "^[A-Za-z0-9_.-]{1,40}$",
            "examples": [PAYMENT_ID],
        },
        "status": REF("PaymentStatus"),
        "amount": {
            "type": "integer",
            "format": "int64",
            "minimum": 1,
            "description": "The bill in kopecks (12345 = 123.45 RUB).",
            "examples": [12345],
        },
        "currency": {"type": "string", "enum": ["RUB"], "description": "ISO 4217 code; always `RUB`."},
        "provider": {
            "type": "string",
            "description": "The provider (\"payment module\", a configured bank) that issued the QR.",
            "examples": ["raiffeisen"],
        },
        "order": {
            "type": ["string", "null"],
            "maxLength": 64,
            "description": "The register's sale receipt reference, as sent; null when none was sent.",
        },
        "description": {
            "type": ["string", "null"],
            "maxLength": 140,
            "description": "Payment purpose shown in the customer's bank app, as sent; null when none was sent.",
        },
        "qr_type": {
            "type": "string",
            "enum": ["dynamic", "cash_register", "customer"],
            "description": "How the customer got the QR: `dynamic` (a QR for this payment), `cash_register` (the register's printed link, activated with this amount; `qr` is the printed link), `customer` (the register scanned the customer's QR).",
        },
        "qr": {
            "type": ["object", "null"],
            "description": "The QR to show. Null while the bank is issuing it and when it could not be issued (`failed`).",
            "required": ["payload", "qr_id"],
            "properties": {
                "payload": {
                    "type": "string",
                    "format": "uri",
                    "description": "The NSPK link to encode as the QR image (or open on the same phone): `https://qr.nspk.ru/<qr id>?type=02&bank=...&sum=<kopecks>&cur=RUB&crc=...`.",
                    "examples": [PAYLOAD],
                },
                "qr_id": {
                    "type": "string",
                    "description": "The bank's / NSPK's id of the QR.",
                    "examples": [QR_ID],
                },
            },
        },
        "late": {
            "type": "boolean",
            "description": "True when the customer paid after qrpayd had already given up on the payment (it was `failed`, `expired` or `cancelled`); the payment is now `paid`, and `late_action` says what the late-payment policy did about it.",
        },
        "late_action": {
            "type": ["string", "null"],
            "enum": ["refund", "flag", None],
            "description": "Only for a `late` payment (null otherwise): what the configuration's `late_payment_policy` did when the money arrived. `refund`: qrpayd refunded the whole amount automatically (the refund with `automatic: true` in `refunds`; if it `failed`, a person must act). `flag`: nothing was refunded; a person completes the sale or refunds the payment.",
            "examples": ["refund"],
        },
        "failure": {
            "type": ["object", "null"],
            "description": "Why the payment failed; null otherwise. Kept when a failed payment later becomes `paid` (late).",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "`bank_timeout`, `bank_unavailable`, `bank_rejected`, `bank_protocol_error` (no QR issued), `creation_interrupted` (qrpayd stopped while the QR was being issued; none was shown) or `declined` (the bank declined the payment).",
                    "examples": ["declined"],
                },
                "message": {"type": "string", "description": "Human-readable detail."},
            },
        },
        "refunded_amount": {
            "type": "integer",
            "format": "int64",
            "minimum": 0,
            "description": "Kopecks refunded so far: the sum of the `succeeded` refunds (a `pending` refund is not counted yet, although it already reserves its amount). 0 when nothing was refunded.",
            "examples": [5000],
        },
        "refunds": {
            "type": "array",
            "items": REF("Refund"),
            "description": "The payment's refunds, oldest first, whatever their status (`pending`, `succeeded`, `failed`), including the late-payment policy's automatic refund. Empty when there are none.",
        },
        "created_at": {"type": "string", "format": "date-time", "description": "When qrpayd saved the payment."},
        "expires_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the QR stops being payable (`created_at` + `payment_ttl_seconds`); an unpaid payment then becomes `expired`.",
        },
        "updated_at": {"type": "string", "format": "date-time", "description": "Last change of the payment's own fields (a refund has its own `updated_at` and does not change this)."},
        "paid_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When qrpayd learned the payment was paid; null unless `paid`.",
        },
    },
    "examples": [PENDING, PAID_REFUNDED, LATE],
}

refund_schema = {
    "type": "object",
    "description": "A refund of (part of) a paid payment, asked by a register or made automatically by the late-payment policy. Every field is always present; absent values are `null`.",
    "required": [
        "id", "payment_id", "amount", "status", "reason", "automatic", "failure",
        "created_at", "updated_at", "finished_at",
    ],
    "properties": {
        "id": {
            "type": "string",
            "description": "qrpayd's refund id: `rf_` and 32 hex digits of a UUIDv7. Also the `refundId` qrpayd sends to the bank, so a retry asks about (or re-sends) the same refund and the bank cannot refund twice.",
            "pattern": "^rf_[0-9a-f]{32}$",
            "examples": [REFUND_ID],
        },
        "payment_id": {"type": "string", "description": "The refunded payment's `id`.", "examples": [PAYMENT_ID]},
        "amount": {
            "type": "integer",
            "format": "int64",
            "minimum": 1,
            "description": "Kopecks given back (5000 = 50.00 RUB).",
            "examples": [5000],
        },
        "status": REF("RefundStatus"),
        "reason": {
            "type": ["string", "null"],
            "maxLength": 140,
            "description": "The register's `reason`, as sent (null when none was sent); for an automatic refund `" + AUTOMATIC_REASON + "`.",
        },
        "automatic": {
            "type": "boolean",
            "description": "True for the refund qrpayd made itself under `late_payment_policy = \"refund\"` (the whole amount of a late payment); false for a register's refund.",
        },
        "failure": {
            "type": ["object", "null"],
            "description": "Why the bank refused the refund (code `bank_rejected`, the bank's code and text in `message`); null otherwise, including a refund the bank declined later (then only `status` is `failed`).",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "examples": ["bank_rejected"]},
                "message": {"type": "string", "description": "Human-readable detail: the bank's code and text."},
            },
        },
        "created_at": {"type": "string", "format": "date-time", "description": "When qrpayd saved the refund (before asking the bank)."},
        "updated_at": {"type": "string", "format": "date-time", "description": "Last change of the refund."},
        "finished_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When the refund became final (`succeeded` or `failed`); null while `pending`.",
        },
    },
    "examples": [REFUND_PENDING, REFUND_SUCCEEDED, LATE_REFUND, REFUND_FAILED],
}

create_refund_request = {
    "type": "object",
    "description": "A new refund. Other fields are refused (`unknown_field`). The payment must be `paid`.",
    "required": ["amount"],
    "additionalProperties": False,
    "properties": {
        "amount": {
            "type": "integer",
            "format": "int64",
            "minimum": 1,
            "description": "Kopecks to give back: 5000 for 50.00 RUB; a positive whole number (`invalid_amount`). At most what is left to refund: the paid amount minus every refund that has not failed, counting refunds still `pending` (`refund_exceeds_remaining`).",
            "examples": [5000],
        },
        "reason": {
            "type": ["string", "null"],
            "maxLength": 140,
            "description": "Optional free text (the return receipt, the cashier's note): at most 140 characters, no control characters (`invalid_reason`). Sent to the bank as the refund's details.",
            "examples": ["return receipt 0042-R1"],
        },
    },
    "examples": [{"amount": 5000}, {"amount": 5000, "reason": "return receipt 0042-R1"}],
}

create_request = {
    "type": "object",
    "description": "A new payment. Other fields are refused (`unknown_field`). Optional fields may also be sent as null.",
    "required": ["amount"],
    "additionalProperties": False,
    "properties": {
        "amount": {
            "type": "integer",
            "format": "int64",
            "minimum": 1,
            "description": "The bill in kopecks: 12345 for 123.45 RUB. A number with a decimal point is refused (`invalid_amount`); at most `max_amount_kopecks` from the configuration (`amount_too_large`), and within the provider's bank limits (`amount_out_of_range`; T-Bank: 1000 … 100000000).",
            "examples": [12345],
        },
        "currency": {
            "type": ["string", "null"],
            "enum": ["RUB", None],
            "default": "RUB",
            "description": "ISO 4217 code; only `RUB` (`unsupported_currency` otherwise).",
        },
        "provider": {
            "type": ["string", "null"],
            "maxLength": 64,
            "pattern": "^[A-Za-z0-9_.-]+$",
            "description": "The provider (\"payment module\") as named in the configuration, e.g. `raiffeisen`. Optional when the register has a default provider or exactly one provider is configured (`provider_required` otherwise); `unknown_provider` when not configured.",
            "examples": ["raiffeisen"],
        },
        "order": {
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 64,
            "description": "The sale receipt reference, free text: 1 to 64 characters, not blank, no control characters (`invalid_order`). Returned as is; not sent to the bank.",
            "examples": ["sale-0042/17"],
        },
        "description": {
            "type": ["string", "null"],
            "maxLength": 140,
            "description": "Payment purpose shown in the customer's bank app: at most 140 characters, no control characters (`invalid_description`).",
            "examples": ["Order 0042, store 17"],
        },
        "qr_type": {
            "type": "string",
            "enum": ["dynamic", "cash_register", "customer"],
            "description": "`dynamic` (default unless the register's `qr_type` says otherwise): a QR for this payment. `cash_register`: activate the register's printed link (bound with `qrpayd links register|bind`) with this amount; one live activation per link (`link_busy`), `no_cash_link` when none is bound. `customer`: charge the customer's QR scanned by the register (`customer_qr` required). A provider that cannot do it answers `not_supported_by_provider`; `invalid_qr_type` for other values.",
        },
        "customer_qr": {
            "type": "string",
            "maxLength": 2048,
            "description": "With `qr_type` `customer`: the text the register's scanner read from the customer's bank app (`customer_qr_required`, `invalid_customer_qr`).",
        },
    },
    "examples": [
        {"amount": 12345},
        {"amount": 12345, "currency": "RUB", "provider": "raiffeisen", "order": "sale-0042/17", "description": "Order 0042, store 17"},
    ],
}

error_schema = {
    "type": "object",
    "description": "Every error answer of the API (except `/healthz`'s 503, see `HealthUnavailable`).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": REF("ErrorCode"),
                "message": {"type": "string", "description": "Human-readable explanation for logs and support; may change between versions."},
            },
        },
        "payment": {
            "allOf": [REF("Payment")],
            "description": "The payment concerned (with its refunds), when the register needs it: `already_paid` (the paid payment), `payment_not_cancellable`, `payment_not_ready`, `idempotency_key_reused` of a payment create (the payment the key belongs to), the `bank_*` codes of a create (the `failed` payment) or a cancel (the payment, still `pending` while qrpayd keeps closing it), `payment_not_refundable` and `refund_exceeds_remaining`.",
        },
        "refund": {
            "allOf": [REF("Refund")],
            "description": "The refund concerned, on a refund request: `idempotency_key_reused` (the refund the key belongs to) and `bank_rejected` (the refund, now `failed`).",
        },
    },
    "examples": [
        err("unauthorized", "unknown register key"),
        err("already_paid", "the customer has already paid; the payment cannot be cancelled (refund it instead)", PAID),
        err("refund_exceeds_remaining", "the refund is more than what is left to refund: 7345 kopecks (73.45 RUB), counting refunds in progress", PAID_REFUNDED),
    ],
}

error_code_schema = {
    "type": "string",
    "description": "Stable error codes. New codes may be added; existing ones are never renamed.\n\n| code | HTTP | meaning |\n|---|---|---|\n" + error_table,
    "enum": [c for c, _, _ in ERROR_CODES],
    "x-enum-descriptions": [d for _, _, d in ERROR_CODES],
}

EVENT_PAID = {
    "event_id": "ev_0190a1b2c3d47e5f8a6b7c8d9e0f1a2c",
    "type": "payment.paid",
    "seq": 42,
    "at": "2025-03-14T09:27:40.311Z",
    "data": {
        "id": PAYMENT_ID,
        "register_id": "pos-1",
        "status": "paid",
        "amount": 12345,
        "currency": "RUB",
        "provider": "raiffeisen",
        "order": "sale-0042/17",
        "qr_id": QR_ID,
        "bank_transaction_id": "17998",
        "late": False,
        "late_action": None,
        "failure_code": None,
        "created_at": "2025-03-14T09:26:53.589Z",
        "paid_at": "2025-03-14T09:27:40.311Z",
    },
}
EVENT_PAGE = {"events": [EVENT_PAID], "next": 42}

schemas = {
    "LinkCheck": {
        "type": "object",
        "required": ["match", "reason", "message", "configured"],
        "properties": {
            "match": {"type": "boolean"},
            "reason": {"type": "string", "enum": ["match", "no_link_configured", "not_a_link", "not_sbp", "bad_crc", "other_link", "not_a_cash_link", "other_bank"]},
            "message": {"type": "string", "description": "The reason in words, for the cashier."},
            "scanned_qr_id": {"type": ["string", "null"], "description": "The QR id read from the scanned link, when it could be read."},
            "configured": {"type": ["object", "null"], "description": "The register's bound link (null when none).", "properties": {"qr_id": {"type": "string"}, "provider": {"type": "string"}, "payload": {"type": "string"}}},
        },
    },
    "Event": {
        "type": "object",
        "description": "One payment or refund change. `data` is a snapshot after the change: for `payment.*` the payment (id, register_id, status, amount, currency, provider, order, qr_id, bank_transaction_id, late, late_action, failure_code, created_at, paid_at), for `refund.*` the refund (id, payment_id, register_id, status, amount, automatic, reason, failure_code, created_at, finished_at).",
        "required": ["event_id", "type", "seq", "at", "data"],
        "properties": {
            "event_id": {"type": "string", "description": "Unique (`ev_` + 32 hex digits); also the AMQP message-id. Drop duplicates by it."},
            "type": {"type": "string", "enum": ["payment.created", "payment.paid", "payment.failed", "payment.expired", "payment.cancelled", "refund.created", "refund.succeeded", "refund.failed"]},
            "seq": {"type": "integer", "description": "Position in the feed, in commit order."},
            "at": {"type": "string", "format": "date-time"},
            "data": {"type": "object", "additionalProperties": True},
        },
        "examples": [EVENT_PAID],
    },
    "EventPage": {
        "type": "object",
        "required": ["events", "next"],
        "properties": {
            "events": {"type": "array", "items": REF("Event")},
            "next": {"type": "integer", "description": "The cursor for the next call (`after=`)."},
        },
    },
    "Payment": payment_schema,
    "DisplayState": {
        "type": "object",
        "description": "What a customer display shows, pushed as the `data` of each `state` event of `GET /display/{register_id}/events`. Only the register's current payment, and only what the customer sees: no payment id, receipt, description or refunds. `idle`: nothing to pay (no payment, one whose QR is still being issued or was never issued, an outcome shown for 10 s already, or a late payment). `pending`: the QR to show. `paid`, `cancelled`, `expired`, `failed`: the outcome, shown for 10 seconds after the payment ended.",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["idle", "pending", "paid", "cancelled", "expired", "failed"]},
            "amount": {"type": "integer", "format": "int64", "minimum": 1, "description": "Kopecks. Absent when `idle`."},
            "amount_rubles": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$", "description": "The amount in rubles as exact text with two decimals (`123.45`), for display. Absent when `idle`."},
            "currency": {"type": "string", "enum": ["RUB"], "description": "Absent when `idle`."},
            "qr": {
                "type": "object",
                "description": "Only when `pending`.",
                "required": ["payload", "svg"],
                "properties": {
                    "payload": {"type": "string", "description": "The NSPK link the QR encodes (the payment's `qr.payload`)."},
                    "svg": {"type": "string", "description": "The QR as SVG (level M, 4-module quiet zone, one unit per module, no fixed size)."},
                },
            },
            "expires_at": {"type": "string", "format": "date-time", "description": "Only when `pending`: when the QR stops being payable."},
            "expires_in_ms": {"type": "integer", "minimum": 0, "description": "Only when `pending`: milliseconds left at the time of the event, by qrpayd's clock (a display counts down from it, so its own clock does not matter)."},
        },
        "examples": [
            {"status": "idle"},
            {"status": "pending", "amount": 12345, "amount_rubles": "123.45", "currency": "RUB", "qr": {"payload": PAYLOAD, "svg": "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 49 49\" shape-rendering=\"crispEdges\">…</svg>"}, "expires_at": "2025-03-14T09:31:53.589Z", "expires_in_ms": 287412},
            {"status": "paid", "amount": 12345, "amount_rubles": "123.45", "currency": "RUB"},
        ],
    },
    "PaymentStatus": {
        "type": "string",
        "enum": ["pending", "paid", "failed", "expired", "cancelled"],
        "description": "`pending` is the only non-final status. `paid`: the customer paid. `failed`: no QR could be issued, or the bank declined the payment. `expired`: nobody paid within the QR lifetime. `cancelled`: the register cancelled and the bank confirmed nothing was paid. A `failed`, `expired` or `cancelled` payment can still become `paid` with `late: true` if the bank reports the money afterwards.",
    },
    "CreatePaymentRequest": create_request,
    "PaymentList": {
        "type": "object",
        "description": "The answer of `GET /v1/payments`.",
        "required": ["payments"],
        "properties": {
            "payments": {
                "type": "array",
                "items": REF("Payment"),
                "description": "The matching payments, newest first (by `created_at`), at most `limit`. Empty when none match.",
            }
        },
        "examples": [{"payments": [LATE, PAID_REFUNDED]}],
    },
    "Refund": refund_schema,
    "RefundStatus": {
        "type": "string",
        "enum": ["pending", "succeeded", "failed"],
        "description": "`pending` is the only non-final status: saved and sent to the bank (or being asked about again after a timeout), the bank has not finished it. `succeeded`: the money went back to the customer. `failed`: the bank refused or declined it; nothing was refunded and the amount is free to refund again.",
    },
    "CreateRefundRequest": create_refund_request,
    "Error": error_schema,
    "ErrorCode": error_code_schema,
    "HealthOk": {
        "type": "object",
        "required": ["status", "version"],
        "properties": {
            "status": {"const": "ok"},
            "version": {"type": "string", "description": "qrpayd's version.", "examples": ["0.1.0"]},
        },
    },
    "HealthUnavailable": {
        "type": "object",
        "required": ["status", "error"],
        "properties": {
            "status": {"const": "unavailable"},
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"const": "database_unavailable"},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "CallbackAnswer": {
        "type": "object",
        "required": ["status"],
        "description": "A verified notification that was confirmed with the bank, or is about nothing of ours, is answered 200 so the bank stops re-sending it.",
        "properties": {
            "status": {
                "type": "string",
                "enum": ["accepted", "ignored"],
                "description": "`accepted`: confirmed with the bank and applied (or already known, or nothing to do). `ignored`: verified but about nothing of ours (see `reason`); acknowledged so the bank stops re-sending it, nothing changed.",
            },
            "reason": {
                "type": "string",
                "description": "Only with `ignored`: `not our order` (the signed order names no payment of this provider).",
                "examples": ["amount mismatch"],
            },
        },
    },
    "RaiffeisenPaymentNotification": {
        "type": "object",
        "description": "Raiffeisenbank's `paymentNotification` (its SBP API), POSTed to `<public_url>/v1/callbacks/<provider>`. Signed with `X-Api-Signature-SHA256`: lowercase hex HMAC-SHA256 with the merchant's secret key over `amount|sbpMerchantId|order|paymentStatus|transactionDate` (each as sent). Other fields (`merchantId`, `additionalInfo`, `createDate`, ...) are ignored.",
        "required": ["sbpMerchantId", "amount", "transactionDate", "paymentStatus"],
        "properties": {
            "transactionId": {"type": ["integer", "null"], "format": "int64", "description": "The bank's id of the payment operation."},
            "qrId": {"type": ["string", "null"], "description": "The QR paid; matched against the payment's `qr.qr_id`."},
            "sbpMerchantId": {"type": "string", "description": "Must be the provider's configured `sbp_merchant_id`."},
            "amount": {"type": "number", "description": "Rubles, as a JSON number with at most two decimals (e.g. `123.45`); signed as written."},
            "currency": {"type": ["string", "null"], "examples": ["RUB"]},
            "transactionDate": {"type": "string", "description": "Moscow time with microseconds, signed verbatim.", "examples": ["2025-03-14T12:27:40.311204+03:00"]},
            "paymentStatus": {"type": "string", "enum": ["SUCCESS", "DECLINED", "NO_INFO", "IN_PROGRESS"]},
            "order": {"type": ["string", "null"], "description": "qrpayd's payment id (used when `qrId` matches nothing)."},
        },
        "examples": [
            {
                "transactionId": 2906464,
                "qrId": QR_ID,
                "sbpMerchantId": "MA0000000552",
                "merchantId": 123,
                "amount": 123.45,
                "currency": "RUB",
                "transactionDate": "2025-03-14T12:27:40.311204+03:00",
                "paymentStatus": "SUCCESS",
                "additionalInfo": None,
                "order": PAYMENT_ID,
                "createDate": "2025-03-14T12:26:53.601123+03:00",
            }
        ],
    },
    "SandboxPayRequest": {
        "type": "object",
        "required": ["qrId", "amount"],
        "properties": {
            "qrId": {"type": "string", "description": "The QR to pay (`qr.qr_id` of the payment).", "examples": [QR_ID]},
            "amount": {"type": "number", "description": "**Rubles** (not kopecks) as a JSON number, at most two decimals; must equal the QR's amount.", "examples": [123.45]},
        },
        "examples": [{"qrId": QR_ID, "amount": 123.45}],
    },
    "SandboxDeclineRequest": {
        "type": "object",
        "properties": {
            "amount": {"type": "number", "description": "Rubles; defaults to the QR's amount.", "examples": [123.45]},
        },
    },
    "SandboxSuccess": {
        "type": "object",
        "required": ["code"],
        "properties": {"code": {"const": "SUCCESS"}},
    },
    "SandboxQrStatus": {
        "type": "object",
        "description": "Raiffeisen's QR status answer.",
        "required": ["code", "qrId", "qrStatus", "payload", "qrUrl"],
        "properties": {
            "code": {"const": "SUCCESS"},
            "qrId": {"type": "string"},
            "qrStatus": {"type": "string", "enum": ["NEW", "IN_PROGRESS", "PAID", "CANCELLED", "EXPIRED"]},
            "qrExpirationDate": {"type": "string", "description": "Absent for a static QR registered without one."},
            "payload": {"type": "string"},
            "qrUrl": {"type": "string"},
        },
    },
    "SandboxFaults": {
        "type": "object",
        "description": "Faults injected into the sandbox's `/api` routes (except the nspc-mock payment call). On `PUT`, missing fields are off; unknown fields are refused.",
        "additionalProperties": False,
        "properties": {
            "latency_ms": {"type": "integer", "minimum": 0, "description": "Delay before answering every `/api` call."},
            "http_500_next": {"type": "integer", "minimum": 0, "description": "The next N `/api` calls answer HTTP 500."},
            "business_error_next": {"type": "integer", "minimum": 0, "description": "The next N `/api` calls answer HTTP 200 `{\"code\":\"ERROR.INTERNAL\"}` (after pending HTTP 500s)."},
            "drop_callbacks": {"type": "boolean", "description": "Send no payment notifications at all."},
            "duplicate_callbacks": {"type": "boolean", "description": "Send each notification twice."},
            "customer_pays_before_cancel": {"type": "integer", "minimum": 0, "description": "The next N cancellations of an open QR, link order or T-Bank payment race a payment: the customer pays a moment before the cancel arrives (Raiffeisen then refuses the DELETE; T-Bank turns the Cancel into a refund)."},
            "tbank_receipts": {"type": "boolean", "description": "The T-Bank terminal also sends a fiscal-receipt notice (`Status: RECEIPT`) after each payment."},
            "lose_answer_next": {"type": "integer", "minimum": 0, "description": "The next N API calls are carried out, but their answer is lost: HTTP 500 although the bank acted."},
            "refuse_deactivation_next": {"type": "integer", "minimum": 0, "description": "The next N deactivations of an open QR, order or T-Bank payment are refused with a business error, leaving it payable."},
            "ignore_deactivation_of": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "description": "Bank ids (Raiffeisen `qrId`, T-Bank `PaymentId`) whose next deactivation is answered as done but not carried out: a payment made afterwards reaches qrpayd late."},
            "chaos": {
                "type": "object",
                "additionalProperties": False,
                "description": "Random faults for long mixed runs, each a percentage of the calls or notifications it applies to, from a generator seeded with `seed` (the same seed repeats the run). All zero: off.",
                "properties": {
                    "seed": {"type": "integer", "minimum": 0},
                    "http_500_percent": {"type": "integer", "minimum": 0, "maximum": 255, "description": "API calls answered HTTP 500 without being carried out."},
                    "lost_answer_percent": {"type": "integer", "minimum": 0, "maximum": 255, "description": "Calls that change something, carried out, whose answer is lost (HTTP 500)."},
                    "slow_answer_percent": {"type": "integer", "minimum": 0, "maximum": 255, "description": "Calls carried out and answered only after `slow_answer_ms`."},
                    "slow_answer_ms": {"type": "integer", "minimum": 0},
                    "drop_callbacks_percent": {"type": "integer", "minimum": 0, "maximum": 255, "description": "Notifications never sent."},
                    "duplicate_callbacks_percent": {"type": "integer", "minimum": 0, "maximum": 255, "description": "Notifications sent twice."},
                    "callback_delay_ms": {"type": "integer", "minimum": 0, "description": "Notifications are held back by a random time up to this."},
                },
            },
        },
        "examples": [{"latency_ms": 0, "http_500_next": 1, "business_error_next": 0, "drop_callbacks": True, "duplicate_callbacks": False, "customer_pays_before_cancel": 0, "tbank_receipts": False, "lose_answer_next": 0, "refuse_deactivation_next": 0}],
    },
    "SandboxError": {
        "type": "object",
        "description": "The bank's error envelope, with a Russian message.",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "examples": ["ERROR.QR_NOT_PAYABLE"]},
            "message": {"type": "string"},
        },
    },
}

parameters = {
    "PaymentId": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The payment's `id`. An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.",
        "schema": {"type": "string", "examples": [PAYMENT_ID]},
    },
    "RefundId": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The refund's `id` (`rf_...`). An id that is malformed, unknown, or belongs to another register (for a register's key) answers `404 not_found`.",
        "schema": {"type": "string", "examples": [REFUND_ID]},
    },
    "Wait": {
        "name": "wait",
        "in": "query",
        "required": False,
        "description": "Seconds to wait for a final status, a whole non-negative number; values above the configured `max_wait_seconds` (default 60) are reduced to it. Omitted or 0: answer at once.",
        "schema": {"type": "integer", "minimum": 0, "default": 0, "examples": [60]},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": True,
        "description": "Unique per payment (or refund) attempt, resent unchanged on every retry of it; scoped per register, payment keys and refund keys separately. 1 to 255 printable ASCII characters without spaces.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$", "examples": ["0f8fad5b-d9cb-469f-a165-70867728950e"]},
    },
}

headers = {
    "IdempotentReplayed": {
        "description": "`true` when this answer repeats an earlier create (of a payment or a refund) with the same `Idempotency-Key` and body; absent on the first answer.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}

responses = {
    "Unauthorized": error_response(
        "No valid key (`unauthorized`).",
        {
            "missing": ex("No Authorization header", err("unauthorized", "send the register's key as `Authorization: Bearer <key>`")),
            "unknown": ex("Unknown key", err("unauthorized", "unknown register key")),
        },
    ),
    "PaymentNotFound": error_response(
        "No such payment for this key (`not_found`): unknown or malformed id, or another register's payment.",
        {"not_found": ex("Unknown payment", err("not_found", "no such payment"))},
    ),
    "RefundNotFound": error_response(
        "No such refund for this key (`not_found`): unknown or malformed id, or another register's refund. (The message says \"payment\" for refunds too.)",
        {"not_found": ex("Unknown refund", err("not_found", "no such payment"))},
    ),
    "AdminReadOnly": error_response(
        "`admin_read_only`: the admin key reads payments, refunds and events only; use a register's key.",
        {"admin_read_only": ex("Admin key", err("admin_read_only", "the admin key only reads payments, refunds and events; changing them, checking links, QR pictures and slips need a register's key"))},
    ),
    "RateLimited": error_response(
        "`rate_limited`: too many requests from this address to paths without a register key. `Retry-After` says when to try again.",
        {"rate_limited": ex("Too fast", err("rate_limited", "too many requests from this address to paths without a register key; retry after the time in Retry-After"))},
    ),
    "Overloaded": error_response(
        "`overloaded`: qrpayd is at its connection cap or its render pool is full; `Retry-After: 1`.",
        {"overloaded": ex("Render pool full", err("overloaded", "too many pictures are being rendered; retry in a second"))},
    ),
    "InternalError": error_response(
        "qrpayd could not complete the request (`internal_error`); retry.",
        {"internal_error": ex("Journal failure", err("internal_error", "qrpayd could not complete the request; the cause is in its log. Retrying is safe (a create with the same Idempotency-Key)."))},
    ),
}

REGISTER_SECURITY = [{"registerKey": []}]
# Read-only operations: a register's key or the admin key.
READ_SECURITY = [{"registerKey": []}, {"adminKey": []}]

QR_NOT_PAYABLE = error_response(
    "Not available: `qr_not_payable` (the payment is no longer `pending`: its QR must not be shown or printed) or `payment_not_ready` (the QR is still being issued; retry in a moment).",
    {
        "qr_not_payable": ex("Already paid", err("qr_not_payable", "the payment is paid: its QR can no longer be paid and must not be shown or printed")),
        "payment_not_ready": ex("QR not issued yet", err("payment_not_ready", "the QR is still being issued by the bank; retry in a moment")),
    },
)


def media_get(operation_id, summary, description, parameters, content, bad_request):
    return {
        "get": {
            "operationId": operation_id,
            "tags": ["qr"],
            "summary": summary,
            "description": description,
            "security": REGISTER_SECURITY,
            "parameters": [{"$ref": "#/components/parameters/PaymentId"}] + parameters,
            "responses": {
                "200": {"description": "The picture or slip.", "headers": {"Cache-Control": {"description": "`no-store`: a QR is shown only while it is payable.", "schema": {"type": "string"}}}, "content": content},
                "400": bad_request,
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/AdminReadOnly"},
                "404": {"$ref": "#/components/responses/PaymentNotFound"},
                "409": QR_NOT_PAYABLE,
                "500": {"$ref": "#/components/responses/InternalError"},
                "503": {"$ref": "#/components/responses/Overloaded"},
            },
        }
    }


SIZE_PARAM = {
    "name": "size",
    "in": "query",
    "required": False,
    "description": "Width and height in pixels, 98 to 4096 (at least two pixels per module: an NSPK link is 41 modules plus the 4-module quiet zone on each side, 49 in all). Whole pixels per module, centred; the leftover pixels widen the quiet zone.",
    "schema": {"type": "integer", "minimum": 98, "maximum": 4096},
}
LANG_PARAM = {"name": "lang", "in": "query", "required": False, "description": "Language of the slip's text.", "schema": {"type": "string", "enum": ["ru", "en"], "default": "ru"}}
WIDTH_PARAM = {"name": "width", "in": "query", "required": False, "description": "Receipt paper width in millimetres: `58` (384 dots, 32 characters a line) or `80` (576 dots, 48 characters).", "schema": {"type": "string", "enum": ["58", "80"], "default": "80"}}
SIZE_ERRORS = error_response(
    "`invalid_size` (`size` out of range or not a number), `invalid_query` (a parameter this endpoint does not take).",
    {"invalid_size": ex("Too small", err("invalid_size", "`size` must be a whole number of pixels from 98 (two per module of this QR, 49 modules with the 4-module quiet zone) to 4096"))},
)
SLIP_ERRORS = error_response(
    "`invalid_width` (`width` is not 58 or 80), `invalid_option` (`qr`, `lang` or `cut` has an unknown value), `invalid_query` (a parameter this endpoint does not take).",
    {
        "invalid_width": ex("Unknown paper", err("invalid_width", "`width` must be 58 or 80 (the receipt paper's width in millimetres)")),
        "invalid_option": ex("Unknown QR mode", err("invalid_option", "`qr` must be native or raster")),
    },
)
SLIP_TEXT = """--------------------------------
         ОПЛАТА ПО СБП
--------------------------------
Сумма:               123.45 руб.
Чек:                sale-0042/17
Оплатить до:           12:31 МСК
--------------------------------
  Отсканируйте QR-код камерой
телефона или в приложении банка
--------------------------------
"""

media_paths = {
    "/v1/payments/{id}/qr.svg": media_get(
        "getPaymentQrSvg",
        "The payment's QR as SVG",
        "The QR of a `pending` payment as an SVG image (`image/svg+xml`): dark modules as one path on a white square, one SVG unit per module, `shape-rendering=\"crispEdges\"`. It encodes exactly `qr.payload`, at error correction level M (about 15 % of the symbol may be damaged or glared) with a 4-module quiet zone. Without `size` it has no fixed size and fills whatever holds it; with `size` it is `size`×`size` pixels.",
        [dict(SIZE_PARAM, description="Optional: `width` and `height` of the SVG in pixels (98 to 4096); without it the SVG scales to its container.")],
        {"image/svg+xml": {"schema": {"type": "string"}}},
        SIZE_ERRORS,
    ),
    "/v1/payments/{id}/qr.png": media_get(
        "getPaymentQrPng",
        "The payment's QR as PNG",
        "The QR of a `pending` payment as a grey-scale PNG of `size`×`size` pixels (default 512), black on white, whole pixels per module. It encodes exactly `qr.payload`, at error correction level M with a 4-module quiet zone, which phone cameras read from screens and paper alike.",
        [dict(SIZE_PARAM, schema={"type": "integer", "minimum": 98, "maximum": 4096, "default": 512})],
        {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        SIZE_ERRORS,
    ),
    "/v1/payments/{id}/qr.txt": media_get(
        "getPaymentQrText",
        "The payment's QR as terminal text",
        "The QR of a `pending` payment as UTF-8 text for a terminal or a log: each character is one module wide and two high (`█`, `▀`, `▄`, space), quiet zone included (49 characters by 25 lines for an NSPK link). Phone cameras read it off a terminal window.",
        [{"name": "background", "in": "query", "required": False, "description": "The terminal's background: `dark` (most terminals; the characters draw the light modules) or `light` (the characters draw the dark modules).", "schema": {"type": "string", "enum": ["dark", "light"], "default": "dark"}}],
        {"text/plain": {"schema": {"type": "string"}}},
        error_response(
            "`invalid_option` (`background` is not `dark` or `light`), `invalid_query` (a parameter this endpoint does not take).",
            {"invalid_option": ex("Unknown background", err("invalid_option", "`background` must be dark or light (the terminal's background)"))},
        ),
    ),
    "/v1/payments/{id}/receipt.escpos": media_get(
        "getPaymentReceiptEscpos",
        "The QR slip for the receipt printer (ESC/POS bytes)",
        "For a register with no customer screen: the bytes to send as they are to an ESC/POS receipt printer (`application/octet-stream`). `ESC @`, code page PC866 (`ESC t 17`) for the Russian text, the title, amount, receipt reference and the time the QR stops being payable (Moscow time), the QR, what to do with it, a feed and (with `cut=true`, the default) a partial cut, which printers without a cutter ignore. The QR is printed with the printer's own QR command (`qr=native`, the default: `GS ( k`, model 2, level M) or as a bitmap (`qr=raster`: `GS v 0`, in bands of at most 240 rows) for printers without QR firmware; either way it encodes exactly `qr.payload`.",
        [
            WIDTH_PARAM,
            {"name": "qr", "in": "query", "required": False, "description": "`native`: the printer's QR command (small, sharp; most printers made since about 2012). `raster`: a bitmap, for any printer that prints images.", "schema": {"type": "string", "enum": ["native", "raster"], "default": "native"}},
            LANG_PARAM,
            {"name": "cut", "in": "query", "required": False, "description": "`false` leaves out the final cut (to print the slip inside a longer receipt).", "schema": {"type": "string", "enum": ["true", "false"], "default": "true"}},
        ],
        {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        SLIP_ERRORS,
    ),
    "/v1/payments/{id}/receipt.txt": media_get(
        "getPaymentReceiptText",
        "The QR slip as plain text",
        "The slip's text (UTF-8, `width` 58 → 32 characters a line, 80 → 48): title, amount, receipt reference, the time the QR stops being payable (Moscow time) and what to do. Without the QR: a register that prints through its own driver prints this text and the QR from `qr.payload` or `qr.png`.",
        [WIDTH_PARAM, LANG_PARAM],
        {"text/plain": {"schema": {"type": "string"}, "examples": {"ru": ex("58 mm, Russian", SLIP_TEXT)}}},
        SLIP_ERRORS,
    ),
}

DISPLAY_KEY_PARAM = {
    "name": "key",
    "in": "query",
    "required": True,
    "description": "The register's `display_key` from its `[[registers]]` entry (at least 16 printable characters; `QRPAYD_REGISTERS__<ID>__DISPLAY_KEY`). Not an API key: it opens only this page and its events. Logged as `key=***`.",
    "schema": {"type": "string", "minLength": 16},
}
REGISTER_PARAM = {"name": "register_id", "in": "path", "required": True, "description": "The register's `id` in `[[registers]]`.", "schema": {"type": "string", "examples": ["pos-1"]}}
HTML = {"text/html": {"schema": {"type": "string"}}}

display_paths = {
    "/display/{register_id}": {
        "get": {
            "operationId": "customerDisplay",
            "tags": ["display"],
            "summary": "The customer display / kiosk page of a register",
            "description": "An HTML page for the register's customer display or kiosk screen, opened once and left alone. It follows the register's current payment (`/display/{register_id}/events`) and shows the QR with the amount and a countdown, switches to paid / cancelled / expired / failed the moment that happens, shows it for 10 seconds, then its idle screen. It reconnects by itself. Laid out for 800×480 customer displays and for portrait kiosks. Everything it loads comes from qrpayd (`/assets/...`), so it works with no internet. `Cache-Control: no-store`, `Referrer-Policy: no-referrer`, a strict `Content-Security-Policy`. The page is the same for every register and carries no data.",
            "security": [],
            "parameters": [
                REGISTER_PARAM,
                DISPLAY_KEY_PARAM,
                {"name": "lang", "in": "query", "required": False, "description": "`en` for English; Russian otherwise.", "schema": {"type": "string", "enum": ["ru", "en"], "default": "ru"}},
            ],
            "responses": {
                "200": {"description": "The page.", "content": HTML},
                "404": {"description": "An HTML page saying the display is not set up: unknown register, no `display_key`, or a wrong `key` (the three look the same).", "content": HTML},
            },
        }
    },
    "/display/{register_id}/events": {
        "get": {
            "operationId": "customerDisplayEvents",
            "tags": ["display"],
            "summary": "What the display shows, as server-sent events",
            "description": "`text/event-stream` for the display page's `EventSource`. Each event is `event: state`, an opaque `id` (the screen's version) and `data`: a `DisplayState` JSON. The first event is the current state (a re-sync: on every reconnect the display shows the truth), unless `Last-Event-ID` already equals the current version; then one event per change of what the display shows (a new payment of the register, paid, cancelled, expired, failed, back to idle). `retry: 2000` makes browsers reconnect after 2 s; comment lines every 15 s keep the connection open through proxies (`X-Accel-Buffering: no`). The stream ends when qrpayd stops; the browser reconnects.",
            "security": [],
            "parameters": [
                REGISTER_PARAM,
                DISPLAY_KEY_PARAM,
                {"name": "Last-Event-ID", "in": "header", "required": False, "description": "Sent by the browser on a reconnect: the `id` of the last event it got.", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "The event stream. Its `data` lines carry `DisplayState`, e.g. `event: state` / `id: 3f9c0e1a2b4d5c6e` / `retry: 2000` / `data: {\"status\":\"paid\",\"amount\":12345,\"amount_rubles\":\"123.45\",\"currency\":\"RUB\"}`.",
                    "content": {"text/event-stream": {"schema": REF("DisplayState"), "examples": {"paid": ex("The data of a `paid` event", {"status": "paid", "amount": 12345, "amount_rubles": "123.45", "currency": "RUB"})}}},
                },
                "429": error_response(
                    "`too_many_displays`: the register has `max_display_streams_per_register` streams open already (`Retry-After: 5`); or `rate_limited`.",
                    {"too_many_displays": ex("Too many screens", err("too_many_displays", "this register has as many customer displays open as allowed (max_display_streams_per_register); retry later"))},
                ),
                "404": error_response(
                    "`unknown_display`: unknown register, no `display_key`, or a wrong `key`.",
                    {"unknown_display": ex("Wrong key", err("unknown_display", "no customer display here: the register does not exist, has no display_key, or the key is wrong"))},
                ),
            },
        }
    },
    "/assets/{name}": {
        "get": {
            "operationId": "pageAsset",
            "tags": ["display"],
            "summary": "The pages' CSS and JavaScript",
            "description": "The files the display and demo pages load, embedded in qrpayd: `display.css`, `display.js`, `demo.css`, `demo.js`. `Cache-Control: no-cache`.",
            "security": [],
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": ["display.css", "display.js", "demo.css", "demo.js"]}}],
            "responses": {
                "200": {"description": "The file.", "content": {"text/css": {"schema": {"type": "string"}}, "text/javascript": {"schema": {"type": "string"}}}},
                "404": error_response("`not_found`: no such asset.", {"not_found": ex("Unknown file", err("not_found", "no such endpoint; see /openapi.json"))}),
            },
        }
    },
    "/demo": {
        "get": {
            "operationId": "cashierDemo",
            "tags": ["display"],
            "summary": "The cashier demo page (with the sandbox bank only)",
            "description": "Only when the configuration has a `[sandbox]` section (the embedded demo has one). A cashier page for trying qrpayd and for staff training: create a payment, watch it (long-poll), see and print its QR, pay it or have the bank decline it through the sandbox bank, cancel it, refund it. It calls this API like register software, with a register key that the user types in or passes in the URL fragment (`/demo#key=<api_key>`), which browsers never send to the server; the page does not store the key.",
            "security": [],
            "responses": {
                "200": {"description": "The page.", "content": HTML},
                "404": error_response("`not_found`: no `[sandbox]` section in the configuration.", {"not_found": ex("No sandbox", err("not_found", "no such endpoint; see /openapi.json"))}),
            },
        }
    },
}

cancel_pending_payment = dict(PENDING, updated_at="2025-03-14T09:28:02.107Z")

paths = {
    "/v1/payments": {
        "post": {
            "operationId": "createPayment",
            "tags": ["payments"],
            "summary": "Create a payment and its QR",
            "description": "Saves the payment, then asks the provider's bank for a dynamic QR with the amount fixed, and answers with the payment in status `pending` and its `qr` to show. Takes at most one bank call (`bank_timeout_seconds`). Idempotent per `Idempotency-Key` (see the API description): a retry with the same key and body answers the same payment with `Idempotent-Replayed: true`. When the bank cannot issue a QR the payment is saved as `failed` and the answer is `502`/`504` with that payment; nothing can be paid, create a new payment with a new key.",
            "security": REGISTER_SECURITY,
            "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": REF("CreatePaymentRequest"),
                        "examples": {
                            "minimal": ex("Amount only (one provider, or the register's default)", {"amount": 12345}),
                            "full": ex("Every field", {"amount": 12345, "currency": "RUB", "provider": "raiffeisen", "order": "sale-0042/17", "description": "Order 0042, store 17"}),
                        },
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "The payment, `pending`, with its QR. Also the answer to a replay (same key and body), then with `Idempotent-Replayed: true` and the payment as it is now (it may already be final).",
                    "headers": {"Idempotent-Replayed": {"$ref": "#/components/headers/IdempotentReplayed"}},
                    "content": {"application/json": {"schema": REF("Payment"), "examples": {"created": ex("A new payment", PENDING)}}},
                },
                "400": error_response(
                    "The request cannot be read: `invalid_body`, `invalid_json`, `idempotency_key_required`, `invalid_idempotency_key`.",
                    {
                        "idempotency_key_required": ex("No Idempotency-Key", err("idempotency_key_required", "send an `Idempotency-Key` header (unique per payment attempt, reused on retries)")),
                        "invalid_json": ex("Not a JSON object", err("invalid_json", "the body must be a JSON object")),
                    },
                ),
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/AdminReadOnly"},
                "409": error_response(
                    "`payment_not_ready`: a replay of a create that is still waiting for the bank after `bank_timeout_seconds` + 1 s. Retry with the same key.",
                    {"payment_not_ready": ex("Still being created", err("payment_not_ready", "the payment is still being created; retry in a moment", dict(PENDING, qr=None)))},
                ),
                "413": error_response(
                    "`body_too_large`: the body is larger than 16 KiB.",
                    {"body_too_large": ex("Too large", err("body_too_large", "the request body is larger than 16384 bytes"))},
                ),
                "422": error_response(
                    "The request is readable but not acceptable: `unknown_field`, `invalid_amount`, `amount_too_large`, `amount_out_of_range`, `invalid_field`, `unsupported_currency`, `unknown_provider`, `provider_required`, `invalid_order`, `invalid_description`, `idempotency_key_reused` (with the key's payment).",
                    {
                        "invalid_amount": ex("Rubles instead of kopecks", err("invalid_amount", "`amount` must be a whole number of kopecks (not rubles with a decimal point)")),
                        "idempotency_key_reused": ex("Key used for another request", err("idempotency_key_reused", "this Idempotency-Key was already used for a different request; use a new key for a new payment", PENDING)),
                    },
                ),
                "500": {"$ref": "#/components/responses/InternalError"},
                "502": error_response(
                    "The bank did not issue a QR: `bank_unavailable`, `bank_rejected`, `bank_protocol_error`. `payment` is the payment, now `failed`.",
                    {"bank_unavailable": ex("Bank unreachable", err("bank_unavailable", "the bank is unavailable while issuing the QR: connection refused", dict(FAILED_CREATE, failure={"code": "bank_unavailable", "message": "connection refused"})))},
                ),
                "504": error_response(
                    "`bank_timeout`: the bank did not answer in time. `payment` is the payment, now `failed`.",
                    {"bank_timeout": ex("Bank timeout", err("bank_timeout", "the bank did not answer in time while issuing the QR", FAILED_CREATE))},
                ),
            },
        },
        "get": {
            "operationId": "listPayments",
            "tags": ["payments"],
            "summary": "List payments",
            "description": "Finds payments, newest first (by `created_at`), each with its refunds. Every filter is optional and they combine (AND). A register's key lists that register's payments only; the admin key lists every register's and may narrow them with `register`. Unknown parameters are refused (`400 invalid_query`), so a misspelt filter never silently lists everything.",
            "security": READ_SECURITY,
            "parameters": [
                {
                    "name": "order",
                    "in": "query",
                    "required": False,
                    "description": "Only payments whose `order` (the register's sale receipt reference) is exactly this.",
                    "schema": {"type": "string", "examples": ["sale-0042/17"]},
                },
                {
                    "name": "status",
                    "in": "query",
                    "required": False,
                    "description": "Only payments in this status. `pending` matches payments whose QR is shown and waiting for the customer (not those whose QR is still being issued or that are being closed, although they also read as `pending`).",
                    "schema": REF("PaymentStatus"),
                },
                {
                    "name": "late",
                    "in": "query",
                    "required": False,
                    "description": "`true`: only late payments (see `late`, `late_action`); `false`: only the others.",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                },
                {
                    "name": "from",
                    "in": "query",
                    "required": False,
                    "description": "Only payments created at or after this time: RFC 3339 (`2025-03-14T09:00:00Z`, `2025-03-14T12:00:00+03:00`) or a date `YYYY-MM-DD`, meaning the start of that day in Moscow time.",
                    "schema": {"type": "string", "examples": ["2025-03-14"]},
                },
                {
                    "name": "to",
                    "in": "query",
                    "required": False,
                    "description": "Only payments created **before** this time (exclusive), in the same formats as `from`: `from=2025-03-14&to=2025-03-15` is the whole of 14 March, Moscow time.",
                    "schema": {"type": "string", "examples": ["2025-03-15"]},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "At most this many payments (the newest), 1 to 500.",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                },
                {
                    "name": "register",
                    "in": "query",
                    "required": False,
                    "description": "Admin key: only this register's payments (its `id` in `[[registers]]`). A register may name only itself; another register answers `403 forbidden`.",
                    "schema": {"type": "string", "examples": ["pos-1"]},
                },
            ],
            "responses": {
                "200": {
                    "description": "The matching payments, newest first.",
                    "content": {
                        "application/json": {
                            "schema": REF("PaymentList"),
                            "examples": {
                                "two": ex("A late payment refunded automatically, and a paid payment partly refunded", {"payments": [LATE, PAID_REFUNDED]}),
                                "none": ex("Nothing matches", {"payments": []}),
                            },
                        }
                    },
                },
                "400": error_response(
                    "`invalid_query`: an unknown parameter, or a bad value of `status`, `late`, `from`, `to`, `limit` or `register`.",
                    {
                        "unknown": ex("Misspelt filter", err("invalid_query", "unknown parameter `state`; use: order, status, late, from, to, limit, register")),
                        "limit": ex("Limit out of range", err("invalid_query", "`limit` must be 1..500")),
                    },
                ),
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": error_response(
                    "`forbidden`: a register asked for another register's payments.",
                    {"forbidden": ex("Another register", err("forbidden", "a register can list only its own payments"))},
                ),
                "500": {"$ref": "#/components/responses/InternalError"},
            },
        },
    },
    "/v1/payments/{id}": {
        "get": {
            "operationId": "getPayment",
            "tags": ["payments"],
            "summary": "Get a payment, optionally waiting for its outcome",
            "description": "Answers the payment with its refunds. With `wait=N` (long-poll) the answer is held until the payment is final or N seconds have passed (N capped by `max_wait_seconds`), then the payment as it is then, which may still be `pending`: ask again. (The wait is for the payment's status; follow a refund with `GET /v1/refunds/{id}`.) The admin key may read any register's payment.",
            "security": READ_SECURITY,
            "parameters": [
                {"$ref": "#/components/parameters/PaymentId"},
                {"$ref": "#/components/parameters/Wait"},
            ],
            "responses": {
                "200": {
                    "description": "The payment (final, or still `pending` when the wait ran out).",
                    "content": {
                        "application/json": {
                            "schema": REF("Payment"),
                            "examples": {
                                "paid": ex("Paid", PAID),
                                "pending": ex("Still waiting", PENDING),
                                "partly_refunded": ex("Paid, 50.00 RUB refunded", PAID_REFUNDED),
                                "late": ex("Paid after expiry, refunded automatically (late_payment_policy = \"refund\")", LATE),
                                "late_flagged": ex("Paid after expiry, left for a person (late_payment_policy = \"flag\")", LATE_FLAGGED),
                            },
                        }
                    },
                },
                "400": error_response(
                    "`invalid_wait`: `wait` is not a whole non-negative number; `invalid_query`: the query string cannot be read. Other parameters are ignored.",
                    {"invalid_wait": ex("Bad wait", err("invalid_wait", "`wait` must be a whole number of seconds"))},
                ),
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "404": {"$ref": "#/components/responses/PaymentNotFound"},
                "500": {"$ref": "#/components/responses/InternalError"},
            },
        }
    },
    "/v1/payments/{id}/cancel": {
        "post": {
            "operationId": "cancelPayment",
            "tags": ["payments"],
            "summary": "Cancel a payment (the cashier aborts)",
            "description": "Records the cancellation, deactivates the QR at the bank, then asks the bank whether the customer paid meanwhile; only that answer decides. No request body. Idempotent: cancelling a `cancelled` payment answers 200 again. When the bank does not confirm in time (`502`/`504`) the cancellation stays recorded and qrpayd keeps closing the QR in the background: poll `GET /v1/payments/{id}?wait=N` for the outcome, which is `cancelled`, or `paid` if the customer was faster.",
            "security": REGISTER_SECURITY,
            "parameters": [{"$ref": "#/components/parameters/PaymentId"}],
            "responses": {
                "200": {
                    "description": "The payment, `cancelled`: the QR is deactivated and the bank confirmed nothing was paid.",
                    "content": {"application/json": {"schema": REF("Payment"), "examples": {"cancelled": ex("Cancelled", CANCELLED)}}},
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/AdminReadOnly"},
                "404": {"$ref": "#/components/responses/PaymentNotFound"},
                "409": error_response(
                    "Not cancelled: `already_paid` (the customer paid; `payment` is the paid payment: complete the sale or refund it with `POST /v1/payments/{id}/refunds`), `payment_not_cancellable` (already `failed` or `expired`), `payment_not_ready` (the QR is still being issued; retry).",
                    {
                        "already_paid": ex("The customer paid first", err("already_paid", "the customer has already paid; the payment cannot be cancelled (refund it instead)", PAID)),
                        "payment_not_cancellable": ex("Already expired", err("payment_not_cancellable", "the payment is already expired", dict(PENDING, status="expired", updated_at="2025-03-14T09:31:54.200Z"))),
                    },
                ),
                "500": {"$ref": "#/components/responses/InternalError"},
                "502": error_response(
                    "The bank has not confirmed the cancellation yet (`bank_unavailable`, `bank_rejected`, `bank_protocol_error`; also `bank_unavailable` while the customer is paying right now). The cancellation is recorded and continues in the background; `payment` is the payment, still `pending`. Poll it for the outcome.",
                    {"bank_unavailable": ex("Not confirmed yet", err("bank_unavailable", "the bank is unavailable while cancelling: the customer is paying right now; asking again shortly; the cancellation is recorded and qrpayd keeps deactivating the QR: poll the payment for the outcome", cancel_pending_payment))},
                ),
                "504": error_response(
                    "`bank_timeout`: the bank did not answer in time. The cancellation is recorded and continues in the background; `payment` is the payment, still `pending`. Poll it for the outcome.",
                    {"bank_timeout": ex("Bank timeout", err("bank_timeout", "the bank did not answer in time while cancelling; the cancellation is recorded and qrpayd keeps deactivating the QR: poll the payment for the outcome", cancel_pending_payment))},
                ),
            },
        }
    },
    "/v1/payments/{id}/refunds": {
        "post": {
            "operationId": "createRefund",
            "tags": ["refunds"],
            "summary": "Refund (part of) a paid payment",
            "description": "Gives back `amount` kopecks of a `paid` payment; several partial refunds are allowed while, together with the refunds not `failed` (including those still `pending`), they stay within the paid amount. The refund is saved and its amount reserved before the bank is called, then sent to the bank under the refund's own id. The bank completes refunds asynchronously, so the answer is usually `pending`: follow it with `GET /v1/refunds/{id}?wait=N` (or in the payment's `refunds`) until `succeeded` or `failed`. When the bank does not answer in time or cannot be reached the answer is still `201` with the refund `pending`: qrpayd asks the bank about that same refund id in the background and sends it again under the same id only if the bank never got it, never under a new id, so it cannot be refunded twice. Only when the bank refuses outright is the answer `502 bank_rejected` with the refund `failed`. Idempotent per `Idempotency-Key` like a payment create (see the API description).",
            "security": REGISTER_SECURITY,
            "parameters": [
                {"$ref": "#/components/parameters/PaymentId"},
                {"$ref": "#/components/parameters/IdempotencyKey"},
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": REF("CreateRefundRequest"),
                        "examples": {
                            "partial": ex("50.00 RUB back, with a reason", {"amount": 5000, "reason": "return receipt 0042-R1"}),
                            "full": ex("The whole 123.45 RUB", {"amount": 12345}),
                        },
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "The refund, usually `pending` (the bank finishes it asynchronously; also `pending` when the bank did not answer in time), or `succeeded` if the bank completed it at once. Also the answer to a replay (same key and body), then with `Idempotent-Replayed: true` and the refund as it is now (it may be final, including `failed` if the bank declined it later).",
                    "headers": {"Idempotent-Replayed": {"$ref": "#/components/headers/IdempotentReplayed"}},
                    "content": {
                        "application/json": {
                            "schema": REF("Refund"),
                            "examples": {
                                "pending": ex("Sent to the bank", REFUND_PENDING),
                                "replayed": ex("A retry after it completed (with Idempotent-Replayed: true)", REFUND_SUCCEEDED),
                            },
                        }
                    },
                },
                "400": error_response(
                    "The request cannot be read: `invalid_body`, `invalid_json`, `idempotency_key_required`, `invalid_idempotency_key`.",
                    {"idempotency_key_required": ex("No Idempotency-Key", err("idempotency_key_required", "send an `Idempotency-Key` header (unique per payment attempt, reused on retries)"))},
                ),
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/AdminReadOnly"},
                "404": {"$ref": "#/components/responses/PaymentNotFound"},
                "409": error_response(
                    "Not refunded: `payment_not_refundable` (the payment is not `paid`; `payment` is included) or `refund_exceeds_remaining` (more than what is left to refund, counting refunds still `pending`; `message` says what is left and `payment` is included with its refunds).",
                    {
                        "payment_not_refundable": ex("Not paid", err("payment_not_refundable", "only paid payments can be refunded; this one is cancelled", CANCELLED)),
                        "refund_exceeds_remaining": ex("More than is left (50.00 RUB already being refunded)", err("refund_exceeds_remaining", "the refund is more than what is left to refund: 7345 kopecks (73.45 RUB), counting refunds in progress", PAID_REFUNDING)),
                    },
                ),
                "413": error_response(
                    "`body_too_large`: the body is larger than 16 KiB.",
                    {"body_too_large": ex("Too large", err("body_too_large", "the request body is larger than 16384 bytes"))},
                ),
                "422": error_response(
                    "The request is readable but not acceptable: `unknown_field`, `invalid_amount`, `invalid_field` (`reason` not a string), `invalid_reason`, `idempotency_key_reused` (with the key's `refund`), `partial_refund_not_supported` (the payment's bank refunds only whole payments; `payment` is included).",
                    {
                        "invalid_amount": ex("Rubles instead of kopecks", err("invalid_amount", "`amount` must be a positive whole number of kopecks")),
                        "unknown_field": ex("Unknown field", err("unknown_field", "unknown field `comment`; a refund takes: amount, reason")),
                        "idempotency_key_reused": ex("Key used for another refund", err("idempotency_key_reused", "this Idempotency-Key was already used for a different refund; use a new key for a new refund", refund=REFUND_PENDING)),
                    },
                ),
                "500": {"$ref": "#/components/responses/InternalError"},
                "502": error_response(
                    "`bank_rejected`: the bank refused the refund outright (its code and text are in `message`). `refund` is the refund, now `failed`; nothing was refunded and the amount is free again. A retry with the same key gets the same answer; to try again, use a new key.",
                    {"bank_rejected": ex("Refused by the bank", err("bank_rejected", "the bank refused while refunding: ERROR.REFUND_INSUFFICIENT_FUNDS ERROR.REFUND_INSUFFICIENT_FUNDS: Недостаточно средств для возврата", refund=REFUND_FAILED))},
                ),
            },
        }
    },
    "/v1/refunds/{id}": {
        "get": {
            "operationId": "getRefund",
            "tags": ["refunds"],
            "summary": "Get a refund, optionally waiting for its outcome",
            "description": "Answers the refund. With `wait=N` (long-poll) the answer is held until the refund is final (`succeeded` or `failed`) or N seconds have passed (N capped by `max_wait_seconds`), then the refund as it is then, which may still be `pending`: ask again. A register sees its own refunds (including the automatic refunds of its late payments); the admin key sees every refund.",
            "security": READ_SECURITY,
            "parameters": [
                {"$ref": "#/components/parameters/RefundId"},
                {"$ref": "#/components/parameters/Wait"},
            ],
            "responses": {
                "200": {
                    "description": "The refund (final, or still `pending` when the wait ran out).",
                    "content": {
                        "application/json": {
                            "schema": REF("Refund"),
                            "examples": {
                                "succeeded": ex("Money returned", REFUND_SUCCEEDED),
                                "pending": ex("Still with the bank", REFUND_PENDING),
                                "automatic": ex("The late-payment policy's refund", LATE_REFUND),
                            },
                        }
                    },
                },
                "400": error_response(
                    "`invalid_wait`: `wait` is not a whole non-negative number; `invalid_query`: the query string cannot be read. Other parameters are ignored.",
                    {"invalid_wait": ex("Bad wait", err("invalid_wait", "`wait` must be a whole number of seconds"))},
                ),
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "404": {"$ref": "#/components/responses/RefundNotFound"},
                "500": {"$ref": "#/components/responses/InternalError"},
            },
        }
    },
    "/v1/events": {
        "get": {
            "operationId": "listEvents",
            "tags": ["events"],
            "summary": "Follow payment and refund events (long-poll feed)",
            "description": "The events of the caller's register (all registers for the admin key), oldest first, after the cursor `after` (the `next` of the previous answer; 0 at first). With `wait=N` the answer is held until at least one event exists after the cursor or N seconds have passed (capped by `max_wait_seconds`). Every change a register can see writes one event in the same transaction as the change: `payment.created`, `payment.paid`, `payment.failed`, `payment.expired`, `payment.cancelled`, `refund.created`, `refund.succeeded`, `refund.failed`. `seq` is commit order, so following `next` never misses an event; `event_id` is unique for de-duplication. The same events go to RabbitMQ when `amqp_url` is configured (routing key = `type`).",
            "security": READ_SECURITY,
            "parameters": [
                {"name": "after", "in": "query", "required": False, "description": "Cursor: return events with `seq` greater than this (default 0).", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                {"$ref": "#/components/parameters/Wait"},
                {"name": "limit", "in": "query", "required": False, "description": "At most this many events (1..1000, default 100).", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
            ],
            "responses": {
                "200": {
                    "description": "Events after the cursor (possibly none when the wait ran out) and the cursor for the next call.",
                    "content": {"application/json": {"schema": REF("EventPage"), "examples": {"paid": ex("A payment created and paid", EVENT_PAGE)}}},
                },
                "400": error_response(
                    "`invalid_query`: `after`, `limit` or an unknown parameter is wrong; `invalid_wait`: `wait` is not a whole number.",
                    {"invalid_query": ex("Bad cursor", err("invalid_query", "`after` must be the `next` cursor of a previous answer (0 or more)"))},
                ),
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "500": {"$ref": "#/components/responses/InternalError"},
            },
        }
    },
    "/v1/links/check": {
        "post": {
            "operationId": "checkLink",
            "tags": ["links"],
            "summary": "Check a scanned cash-register sticker against this register's link",
            "description": "The cashier scans the printed QR sticker with the register's barcode scanner (in a service menu) and sends the text. The answer says whether it is the cash-register link bound to this register, and why not: `match`, `no_link_configured`, `not_a_link` (not a URL, damaged), `not_sbp` (not `https://qr.nspk.ru/…`), `bad_crc` (the link's CRC-16 does not verify: damaged or mistyped), `other_link` (another link: another register's, or an old one), `not_a_cash_link` (a one-payment QR, `type=02`), `other_bank` (another bank's link). The QR id is compared, not the raw text: printed links may or may not carry their query. Works for any provider whose link is bound.",
            "security": [{"registerKey": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object", "required": ["payload"], "properties": {"payload": {"type": "string", "description": "The scanned text, as read."}}, "additionalProperties": False}, "examples": {"scan": ex("A scanned sticker", {"payload": "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000007&crc=4478"})}}},
            },
            "responses": {
                "200": {
                    "description": "The verdict (also when it does not match).",
                    "content": {"application/json": {"schema": REF("LinkCheck"), "examples": {"match": ex("The right sticker", {"match": True, "reason": "match", "message": "this is the cash-register link configured for this register", "scanned_qr_id": "AS1R0000000000000000000000000TST", "configured": {"qr_id": "AS1R0000000000000000000000000TST", "provider": "raiffeisen", "payload": "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000007&crc=4478"}})}}},
                },
                "400": error_response("`invalid_json`: the body is not a JSON object.", {"invalid_json": ex("Not JSON", err("invalid_json", "the body must be a JSON object"))}),
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": error_response("`admin_read_only`: the admin key cannot check links.", {"admin_read_only": ex("Admin key", err("admin_read_only", "the admin key only reads payments, refunds and events; changing them, checking links, QR pictures and slips need a register's key"))}),
                "422": error_response("`payload_required`, `unknown_field`, `invalid_field`.", {"payload_required": ex("Nothing scanned", err("payload_required", "send the scanned text as `payload`"))}),
                "500": {"$ref": "#/components/responses/InternalError"},
            },
        }
    },
    "/v1/callbacks/{provider}": {
        "post": {
            "operationId": "receiveBankNotification",
            "tags": ["callbacks"],
            "summary": "Receive a bank's payment notification",
            "description": "Called by the bank, not by registers: configure `<public_url>/v1/callbacks/<provider name>` at the bank (qrpayd does so itself at startup when the provider's `set_callback_url` is true). No register key: the notification is authenticated by the bank's signature. **A notification is a hint:** it is matched to a payment by the order the bank signed (our payment id) only — never by unsigned fields such as `qrId` or `transactionId` — and then qrpayd asks the bank for the payment's status and records what the bank answers. A verified notification about an order that is not ours is acknowledged (200, `ignored`) and changes nothing. `503 bank_unavailable` when the bank could not be asked: the bank sends the notification again. T-Bank providers get the plain text `OK` on success instead of JSON, as T-Bank requires (fiscal `RECEIPT` notices included).",
            "security": [],
            "parameters": [
                {
                    "name": "provider",
                    "in": "path",
                    "required": True,
                    "description": "The provider's `name` in the configuration.",
                    "schema": {"type": "string", "examples": ["raiffeisen"]},
                },
                {
                    "name": "X-Api-Signature-SHA256",
                    "in": "header",
                    "required": False,
                    "description": "Raiffeisen (`kind = \"raiffeisen\"`, the only kind this version supports): lowercase hex HMAC-SHA256 of `amount|sbpMerchantId|order|paymentStatus|transactionDate` with the provider's secret key. Missing or wrong: `401 invalid_signature`.",
                    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                },
            ],
            "requestBody": {
                "required": True,
                "description": "The bank's notification, in the bank's own format: for Raiffeisen its `paymentNotification` JSON.",
                "content": {"application/json": {"schema": REF("RaiffeisenPaymentNotification")}},
            },
            "responses": {
                "200": {
                    "description": "Verified and accepted, or verified and deferred (qrpayd asks the bank instead of trusting it).",
                    "content": {
                        "application/json": {
                            "schema": REF("CallbackAnswer"),
                            "examples": {
                                "accepted": ex("Confirmed with the bank and applied", {"status": "accepted"}),
                                "ignored": ex("Not our order", {"status": "ignored", "reason": "not our order"}),
                            },
                        }
                    },
                },
                "400": error_response(
                    "`malformed_notification`: signed header present but the body is not an acceptable notification.",
                    {"malformed_notification": ex("Bad amount", err("malformed_notification", "amount: `1.234` is not an exact ruble amount"))},
                ),
                "401": error_response(
                    "`invalid_signature`: the signature is missing or does not verify.",
                    {"invalid_signature": ex("Bad signature", err("invalid_signature", "the notification's signature does not verify"))},
                ),
                "404": error_response(
                    "`unknown_provider`: no provider of that name is configured.",
                    {"unknown_provider": ex("Unknown provider", err("unknown_provider", "provider \"sber\" is not configured"))},
                ),
                "413": error_response(
                    "`body_too_large`: the body is larger than 16 KiB.",
                    {"body_too_large": ex("Too large", err("body_too_large", "notification body too large"))},
                ),
                "500": {"$ref": "#/components/responses/InternalError"},
                "503": error_response(
                    "`bank_unavailable`: verified and ours, but the bank could not be asked to confirm it; the bank sends it again (qrpayd keeps asking the bank meanwhile).",
                    {"bank_unavailable": ex("Not confirmed yet", err("bank_unavailable", "the notification could not be confirmed with the bank yet (the bank did not answer in time); send it again"))},
                ),
            },
        }
    },
    "/healthz": {
        "get": {
            "operationId": "health",
            "tags": ["operations"],
            "summary": "Health check",
            "description": "For load balancers and monitoring: checks that the journal database answers. No key needed.",
            "security": [],
            "responses": {
                "200": {
                    "description": "Healthy.",
                    "content": {"application/json": {"schema": REF("HealthOk"), "examples": {"ok": ex("Healthy", {"status": "ok", "version": "0.1.0"})}}},
                },
                "503": {
                    "description": "The journal database does not answer.",
                    "content": {"application/json": {"schema": REF("HealthUnavailable"), "examples": {"unavailable": ex("Database down", {"status": "unavailable", "error": {"code": "database_unavailable", "message": "the journal database does not answer"}})}}},
                },
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "tags": ["operations"],
            "summary": "This OpenAPI document",
            "description": "The OpenAPI 3.1 description of the API, served as `application/json`. No key needed.",
            "security": [],
            "responses": {
                "200": {
                    "description": "The document.",
                    "content": {"application/json": {"schema": {"type": "object", "description": "An OpenAPI 3.1 document."}}},
                }
            },
        }
    },
    "/sandbox-bank/api/nspc-mock/v01/rfuture/payment/init": {
        "post": {
            "operationId": "sandboxPayQr",
            "tags": ["sandbox"],
            "summary": "Sandbox bank: pay a QR (plays the customer)",
            "description": "Only when the configuration has a `[sandbox]` section. The sandbox bank's equivalent of a customer paying the QR from a banking app (Raiffeisen's own sandbox call): marks the QR paid and sends the signed payment notification to the callback URL, so the qrpayd payment becomes `paid`. No key needed. **`amount` is in rubles** here, as the bank's protocol has it.",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": REF("SandboxPayRequest")}},
            },
            "responses": {
                "200": {"description": "Paid.", "content": {"application/json": {"schema": REF("SandboxSuccess")}}},
                "400": {
                    "description": "`ERROR.INVALID_REQUEST` (missing field, bad JSON, amount differs from the QR's) or `ERROR.QR_NOT_PAYABLE` (already paid, cancelled or expired).",
                    "content": {"application/json": {"schema": REF("SandboxError")}},
                },
                "404": {"description": "`ERROR.NOT_FOUND`: no such QR.", "content": {"application/json": {"schema": REF("SandboxError")}}},
            },
        }
    },
    "/sandbox-bank/sandbox/qrs/{qr_id}/decline": {
        "post": {
            "operationId": "sandboxDeclineQr",
            "tags": ["sandbox"],
            "summary": "Sandbox bank: the payer's bank declines an attempt",
            "description": "Only with a `[sandbox]` section. Sends a signed `DECLINED` notification for the QR (the qrpayd payment becomes `failed` with failure `declined`). The body is optional.",
            "security": [],
            "parameters": [{"name": "qr_id", "in": "path", "required": True, "schema": {"type": "string", "examples": [QR_ID]}}],
            "requestBody": {"required": False, "content": {"application/json": {"schema": REF("SandboxDeclineRequest")}}},
            "responses": {
                "200": {"description": "Declined.", "content": {"application/json": {"schema": REF("SandboxSuccess")}}},
                "400": {"description": "Bad request or the QR cannot take a payment.", "content": {"application/json": {"schema": REF("SandboxError")}}},
                "404": {"description": "No such QR.", "content": {"application/json": {"schema": REF("SandboxError")}}},
            },
        }
    },
    "/sandbox-bank/sandbox/qrs/{qr_id}/expire": {
        "post": {
            "operationId": "sandboxExpireQr",
            "tags": ["sandbox"],
            "summary": "Sandbox bank: expire a QR now",
            "description": "Only with a `[sandbox]` section. Lets a `NEW` QR's expiry pass now at the bank (qrpayd learns it when it next polls or closes the payment).",
            "security": [],
            "parameters": [{"name": "qr_id", "in": "path", "required": True, "schema": {"type": "string", "examples": [QR_ID]}}],
            "responses": {
                "200": {"description": "The QR's status.", "content": {"application/json": {"schema": REF("SandboxQrStatus")}}},
                "404": {"description": "No such QR.", "content": {"application/json": {"schema": REF("SandboxError")}}},
            },
        }
    },
    "/sandbox-bank/sandbox/registry": {
        "get": {
            "operationId": "sandboxRegistry",
            "tags": ["sandbox"],
            "summary": "Sandbox bank: the day's registry (reconciliation file)",
            "description": "Only with a `[sandbox]` section. The registry of one Moscow day in Raiffeisen's format (`SBPreport.csv`, \"Отчет по СБП C2B транзакциям\"): **Windows-1251** text, `;`-separated, CRLF line ends; a title row, an empty row, the twelve-column header (`Мерчант;Дата операции МСК;Тип;id заказа;id возврата;...;Сумма;Комиссия;...`), one row per successful payment (`Payment`) and per completed refund (`Refund`) of that day, and the `ИТОГО` totals row. Amounts are rubles with two decimals. Served as an attachment `SBPreport_<date>.csv`.",
            "security": [],
            "parameters": [
                {
                    "name": "date",
                    "in": "query",
                    "required": True,
                    "description": "The day, `YYYY-MM-DD` (Moscow time).",
                    "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "examples": ["2025-03-14"]},
                }
            ],
            "responses": {
                "200": {
                    "description": "The registry CSV (`Content-Type: text/csv; charset=windows-1251`).",
                    "content": {"text/csv": {"schema": {"type": "string", "description": "Windows-1251 bytes."}}},
                },
                "400": {"description": "`ERROR.INVALID_REQUEST`: `date` missing or not `YYYY-MM-DD`.", "content": {"application/json": {"schema": REF("SandboxError")}}},
            },
        }
    },
    "/sandbox-bank/sandbox/faults": {
        "get": {
            "operationId": "sandboxGetFaults",
            "tags": ["sandbox"],
            "summary": "Sandbox bank: read injected faults",
            "description": "Only with a `[sandbox]` section. The faults currently injected (counters as left by the calls so far).",
            "security": [],
            "responses": {"200": {"description": "The faults.", "content": {"application/json": {"schema": REF("SandboxFaults")}}}},
        },
        "put": {
            "operationId": "sandboxSetFaults",
            "tags": ["sandbox"],
            "summary": "Sandbox bank: inject faults",
            "description": "Only with a `[sandbox]` section. Replaces the injected faults (missing fields are off), to train staff or test the register on latency, bank errors and lost or duplicated notifications.",
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": REF("SandboxFaults")}}},
            "responses": {
                "200": {"description": "The faults now in force.", "content": {"application/json": {"schema": REF("SandboxFaults")}}},
                "400": {"description": "`ERROR.INVALID_REQUEST`: not a JSON object, or unknown fields.", "content": {"application/json": {"schema": REF("SandboxError")}}},
            },
        },
    },
}



ADMIN_SECURITY = [{"adminKey": []}]
ADMIN_403 = error_response(
    "`admin_only`: a register's key; these endpoints need the admin key.",
    {"admin_only": ex("Register key", err("admin_only", "this needs the admin key (admin_api_key), not a register's"))},
)
ADMIN_400 = error_response(
    "`invalid_query`: an unknown parameter or a bad value.",
    {"invalid_query": ex("Bad date", err("invalid_query", "`date` must be YYYY-MM-DD"))},
)
PAYMENT_ROW = {
    "id": PAYMENT_ID, "register": "pos-1", "provider": "raiffeisen", "order": "sale-0042/17",
    "amount": 12345, "amount_rubles": "123.45", "status": "paid", "late": False, "late_action": None,
    "refunded": 5000, "created_at": "2025-03-14T09:26:53.589Z", "paid_at": "2025-03-14T09:27:40.311Z",
}
GROUP = {"register": "pos-1", "provider": "raiffeisen", "payments": 1, "paid": 1, "paid_amount": 12345, "refunded_amount": 5000}
HISTORY = [
    {"at": "2025-03-14T09:26:53.589Z", "from": None, "to": "creating", "event": "Created", "detail": None},
    {"at": "2025-03-14T09:26:53.842Z", "from": "creating", "to": "pending", "event": "QrIssued via bank", "detail": None},
    {"at": "2025-03-14T09:27:40.311Z", "from": "pending", "to": "paid", "event": "BankPaid via bank notification", "detail": "transaction 1234567"},
]
REFUND_DETAIL = {
    "id": REFUND_ID, "payment_id": PAYMENT_ID, "amount": 5000, "amount_rubles": "50.00", "status": "succeeded",
    "automatic": False, "reason": "return receipt 0042-R1", "failure": None, "created_at": "2025-03-14T10:05:12.034Z",
    "history": [{"at": "2025-03-14T10:05:14.518Z", "from": "pending", "to": "succeeded", "event": "BankCompleted via worker", "detail": None}],
}


def admin_get(operation_id, summary, description, example, parameters=None, not_found=False, bad_query=False):
    responses = {
        "200": {"description": "The answer.", "content": {"application/json": {"schema": {"type": "object"}, "examples": {"example": ex(summary, example)}}}},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": ADMIN_403,
        "500": {"$ref": "#/components/responses/InternalError"},
    }
    if bad_query:
        responses["400"] = ADMIN_400
    if not_found:
        responses["404"] = {"$ref": "#/components/responses/PaymentNotFound"}
    op = {
        "operationId": operation_id,
        "tags": ["admin"],
        "summary": summary,
        "description": description,
        "security": ADMIN_SECURITY,
        "responses": responses,
    }
    if parameters:
        op["parameters"] = parameters
    return {"get": op}


admin_paths = {
    "/v1/admin/day": admin_get(
        "adminDay",
        "A day's payments by register and provider",
        "Payments created on a Moscow day (`date`, default today), grouped by register and provider with totals (`paid_amount`, `refunded_amount` in kopecks), and every payment of the day, newest first (at most 10000). `register` and `order` narrow it. The `/admin` page's main table; `qrpayd payments list --format json` prints the same.",
        {"date": "2025-03-14", "groups": [GROUP], "totals": dict(GROUP, register="*", provider="*"), "payments": [PAYMENT_ROW]},
        parameters=[
            {"name": "date", "in": "query", "required": False, "description": "The Moscow day, `YYYY-MM-DD` (default: today).", "schema": {"type": "string", "format": "date"}},
            {"name": "register", "in": "query", "required": False, "description": "Only this register's payments.", "schema": {"type": "string"}},
            {"name": "order", "in": "query", "required": False, "description": "Only payments of this sale receipt.", "schema": {"type": "string"}},
        ],
        bad_query=True,
    ),
    "/v1/admin/search": admin_get(
        "adminSearch",
        "Find payments by sale receipt",
        "Payments whose `order` is the receipt, any day, newest first (at most 100).",
        {"payments": [PAYMENT_ROW]},
        parameters=[{"name": "order", "in": "query", "required": True, "description": "The sale receipt id.", "schema": {"type": "string"}}],
        bad_query=True,
    ),
    "/v1/admin/payments/{id}": admin_get(
        "adminPayment",
        "A payment's full history",
        "The payment with every state change (time, from, to, what happened and who reported it, the bank's answer or transaction) and each refund with its own history. `qrpayd payments show <id> --format json` prints the same.",
        dict(PAYMENT_ROW, qr_type="dynamic", qr_id=QR_ID, bank_transaction_id="1234567", failure=None, description="Order 0042, store 17", expires_at="2025-03-14T09:31:53.589Z", history=HISTORY, refunds=[REFUND_DETAIL]),
        parameters=[{"name": "id", "in": "path", "required": True, "description": "The payment id.", "schema": {"type": "string"}}],
        not_found=True,
    ),
    "/v1/admin/attention": admin_get(
        "adminAttention",
        "What a person must look at",
        "Late payments (paid after qrpayd closed them; `late_action` `refund` = refunded automatically, `flag` = a person decides) and refunds the bank refused, newest first (at most 100 of each).",
        {"late": [dict(PAYMENT_ROW, late=True, late_action="flag", refunded=0)], "failed_refunds": [dict(REFUND_DETAIL, status="failed", failure="bank_rejected: ERROR.REFUND_INSUFFICIENT_FUNDS")]},
    ),
    "/v1/admin/reconciliation": admin_get(
        "adminReconciliation",
        "The last reconciliation's differences",
        "The last run of `qrpayd reconcile` (saved in the journal): when it ran, the registry's day, how many differences, and the report as `reconcile --format json` prints it. `last` is `null` before the first run.",
        {"last": {"ran_at": "2025-03-15T06:00:02.120Z", "registry_date": "2025-03-14", "differences": 1, "report": {"date": "2025-03-14", "bank_payments": 12, "bank_refunds": 1, "bank_other_rows": 0, "differences": [{"kind": "payment_missing_at_bank", "payment_id": PAYMENT_ID, "refund_id": None, "qr_id": QR_ID, "bank_amount": None, "journal_amount": 12345, "journal_status": "paid", "registry_line": None, "action": None}]}}},
    ),
}

ops_paths = {
    "/readyz": {
        "get": {
            "operationId": "ready",
            "tags": ["operations"],
            "summary": "Readiness: can this instance take payments?",
            "description": "For load balancers and monitoring. Ready (200) when the journal database answers, its schema is the one this binary expects, and at least one provider is not down (a provider is down after 3 bank calls in a row without a usable answer: timeout, unavailable, nonsense; any answer resets it). Every part is reported; 503 with the same body when not ready. `/healthz` stays the cheap liveness probe. No key needed.",
            "security": [],
            "responses": {
                "200": {"description": "Ready.", "content": {"application/json": {"schema": {"type": "object"}, "examples": {"ready": ex("Ready", {"status": "ready", "version": "0.1.0", "database": {"ok": True}, "schema": {"ok": True, "version": 5, "expected": 5}, "providers": {"raiffeisen": {"ok": True, "state": "up", "down_until": None, "calls": 120, "consecutive_failures": 0, "last_error": None}}})}}}},
                "503": {"description": "Not ready: which part fails is in the body.", "content": {"application/json": {"schema": {"type": "object"}, "examples": {"bank_down": ex("The only bank does not answer", {"status": "not_ready", "version": "0.1.0", "database": {"ok": True}, "schema": {"ok": True, "version": 5, "expected": 5}, "providers": {"raiffeisen": {"ok": False, "state": "down", "down_until": "2026-11-28T09:00:30+00:00", "calls": 130, "consecutive_failures": 3, "last_error": "the bank did not answer in time"}}})}}}},
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "metrics",
            "tags": ["operations"],
            "summary": "Prometheus metrics",
            "description": "OpenMetrics text (`application/openmetrics-text; version=1.0.0`) for Prometheus: `qrpayd_payments{provider,status}`, `qrpayd_bank_request_duration_seconds{provider,operation,outcome}` (histogram), `qrpayd_callbacks_total{provider,result}`, `qrpayd_jobs_due{kind}`, `qrpayd_jobs_overdue{kind}`, `qrpayd_oldest_unfinished_payment_age_seconds`, `qrpayd_outbox_unpublished_events`, `qrpayd_outbox_lag_seconds`, `qrpayd_long_polls_open`, `qrpayd_display_streams_open`, `qrpayd_db_pool_connections{state}`, `qrpayd_db_pool_max_connections`, `qrpayd_late_payments_flagged`. Needs the admin key here; with `metrics_listen` the same text is served on that address without a key.",
            "security": ADMIN_SECURITY,
            "responses": {
                "200": {"description": "The metrics.", "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": ADMIN_403,
                "500": {"$ref": "#/components/responses/InternalError"},
            },
        }
    },
    "/admin": {
        "get": {
            "operationId": "adminPage",
            "tags": ["admin"],
            "summary": "The store admin's journal page",
            "description": "A read-only page (Russian; no external assets): the day's payments by register and provider with totals, search by receipt, a payment's full history, late payments and failed refunds, the last reconciliation's differences. It holds no key: it asks for the admin key, or takes it from the URL fragment (`/admin#key=...`, never sent to the server), and calls `/v1/admin/...` with it.",
            "security": [],
            "responses": {"200": {"description": "The page.", "content": {"text/html": {"schema": {"type": "string"}}}}},
        }
    },
}


def with_inserted(mapping, after, extra):
    """`mapping` with `extra`'s items right after the key `after` (the document's order)."""
    out = {}
    for key, value in mapping.items():
        out[key] = value
        if key == after:
            out.update(extra)
    return out


paths = with_inserted(paths, "/v1/payments/{id}/cancel", media_paths)
paths = with_inserted(paths, "/openapi.json", display_paths)
paths = with_inserted(paths, "/healthz", ops_paths)
paths = with_inserted(paths, "/v1/callbacks/{provider}", admin_paths)

# Every path that needs no register key is rate-limited per client address (`crate::limits`).
for path, item in paths.items():
    limited = path not in ("/healthz", "/readyz") and (not path.startswith("/v1/") or path.startswith("/v1/callbacks/"))
    if limited:
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("429", {"$ref": "#/components/responses/RateLimited"})

SANDBOX_TAG = """The embedded SBP sandbox bank, an emulator of Raiffeisenbank's SBP QR API (and of a T-Bank acquiring terminal, a BPC RBS gateway and a Sber QR terminal) for demos, tests and staff training. **Exists only when the configuration has a `[sandbox]` section**; it is mounted under `/sandbox-bank`, and a provider with `base_url = "http://<listen>/sandbox-bank"` talks to it. Its answers are the bank's own JSON (`{"code":"SUCCESS",...}` / `{"code":"ERROR.X","message":"..."}`, messages in Russian), not this API's envelope, and amounts are **rubles** as JSON numbers. Routes (all under `/sandbox-bank`; "auth" = `Authorization: Bearer <sandbox secret_key>`):

* bank API: `POST /api/sbp/v2/qrs` and `POST /api/sbp/v1/qr/register` (register a QR), `GET /api/sbp/v2/qrs/{qr_id}` (auth, QR status), `DELETE /api/sbp/v2/qrs/{qr_id}` (auth, cancel a QR), `GET /api/sbp/v1/qr/{qr_id}/info` (auth), `GET /api/sbp/v1/qr/{qr_id}/payment-info` (auth), `POST /api/sbp/v1/refund` and `GET /api/sbp/v1/refund/{refund_id}` (auth, refunds), `POST /api/settings/v1/callback` (auth, set the callback URL); cash-register links (`qrType` `QRVariable` at `POST /api/sbp/v2/qrs`): `POST /api/payment/v1/orders` (auth, activate a link with an amount; one live order per link, else `ERROR.ORDER_ALREADY_ACTIVE`), `GET`/`DELETE /api/payment/v1/orders/{order_id}` (auth, an order's status; cancel a `NEW` one, else `ORDER_HAS_FINAL_STATUS`), `POST`/`GET /api/payments/v1/orders/{order_id}/refunds/{refund_id}` (auth, refunds of a paid order); `POST /sandbox/customer-qr/charge` (auth, a sandbox-only extension: charge a customer-presented QR, used by providers of `kind = "sandbox"`). Faults apply to these.
* the T-Bank terminal (T-Bank's JSON, `Token`-signed with the terminal's password, amounts in kopecks; a provider of `kind = "tbank"` with `base_url = "http://<listen>/sandbox-bank/tbank"`): `POST /tbank/v2/Init`, `POST /tbank/v2/GetQr`, `POST /tbank/v2/GetState`, `POST /tbank/v2/Cancel` (cancel an unpaid payment or refund a paid one), `POST /tbank/v2/GetQrState` (a refund's status). Faults apply to these too, in T-Bank's shape.
* BPC's RBS gateway (VTB, Alfa-Bank, MTS Bank: form parameters with `userName` + `password` or `token`, JSON answers with `errorCode`, HTTP 200 also for errors, amounts in kopecks; a provider of `kind = "rbs"` with `base_url = "http://<listen>/sandbox-bank/rbs/payment"`): `POST /rbs/payment/rest/register.do`, `POST /rbs/payment/rest/sbp/c2b/qr/dynamic/get.do`, `POST /rbs/payment/rest/sbp/c2b/qr/status.do`, `POST /rbs/payment/rest/sbp/c2b/qr/dynamic/reject.do`, `POST /rbs/payment/rest/getOrderStatusExtended.do`, `POST /rbs/payment/rest/refund.do` (keyed by `externalRefundId`). Notifications are POSTed forms with a `checksum`. Faults apply to these too, in the gateway's shape. Its customer: `POST /sandbox/rbs/orders/{md_order}/pay`, `POST /sandbox/rbs/orders/{md_order}/decline`, and `POST /sandbox/rbs/orders/{md_order}/refunds/decline` (the SBP refuses the refund in progress).
* the Sber terminal (Sber's QR API "Плати QR" v3, snake_case JSON, amounts in kopecks, plain HTTP without the bank's mutual TLS; a provider of `kind = "sber"` with `base_url = "http://<listen>/sandbox-bank/sber"`): `POST /sber/tokens/v3/oauth` (OAuth client credentials, `Authorization: Basic`, one scope per token, 60 s), `POST /sber/qr/order/v3/creation`, `POST /sber/qr/order/v3/status`, `POST /sber/qr/order/v3/revocation`, `POST /sber/qr/order/v3/cancel` (refund a payment operation; with the SBP until the second status read), `POST /sber/qr/order/v3/registry` (camelCase). Each order-API call needs a token of its scope and a 32-hex `RqUID` header; faults apply to the order API, in Sber's shapes (`error_code`, or the gateway's `httpCode`/`moreInformation`).
* playing the customer: `POST /api/nspc-mock/v01/rfuture/payment/init` (pay a QR, or a cash-register link's live order; the bank's own sandbox call), `POST /tbank/v2/SbpPayTest` (pay, reject or expire a T-Bank payment; T-Bank's own sandbox call), `POST /sandbox/customer-qr` (mint a customer QR as the customer's bank app would show it: `{"amount_limit": <rubles>, "confirm": "auto"|"manual"}`, both optional → `{"payload": …}`).
* sandbox controls: `POST /sandbox/qrs/{qr_id}/decline`, `POST /sandbox/qrs/{qr_id}/expire`, `GET /sandbox/qrs` (every QR with its transactions, every refund, order, customer QR, T-Bank payment, RBS order and Sber order), `POST /sandbox/refunds/{refund_id}/decline` (the bank declines an `IN_PROGRESS` refund), `PUT /sandbox/tbank/notification-url` (where T-Bank notifications go for payments created without `NotificationURL`), `PUT /sandbox/sber/notification-url` (where the Sber terminal's notifications go; at the bank, Sber's support sets it), `GET /sandbox/registry?date=YYYY-MM-DD` (the day's registry of successful payments and completed refunds, Moscow date, as the bank's CSV: Windows-1251, `;`-separated, CRLF), `GET`/`PUT /sandbox/faults`.

Only the calls a person uses when trying qrpayd are described in detail here."""

doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "qrpayd POS API",
        "version": "1",
        "description": INFO_DESCRIPTION,
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    },
    "servers": [{"url": "/", "description": "The qrpayd instance serving this document (`listen` in the configuration)."}],
    "tags": [
        {"name": "payments", "description": "Registers create, watch and cancel QR payments; registers and the admin list and read them. Need `Authorization: Bearer <register api key>` (or, to list and read only, the admin key)."},
        {"name": "refunds", "description": "Registers refund paid payments, fully or in parts, and follow the refunds; the late-payment policy's automatic refunds appear here too. Creating needs a register's key; reading also accepts the admin key."},
        {"name": "links", "description": "Cash-register links (one printed static QR per register): checking a scanned sticker. Links are registered and bound with `qrpayd links register|bind|list`."},
        {"name": "events", "description": "The feed of payment and refund events (the same events qrpayd publishes to RabbitMQ)."},
        {"name": "qr", "description": "A pending payment's QR as SVG, PNG or terminal text, and the QR slip for the receipt printer (ESC/POS bytes or plain text), for registers that do not draw the QR themselves. The register's own key only (the admin key answers `403 admin_read_only`)."},
        {"name": "display", "description": "Pages for people, served by qrpayd itself (no internet needed): the customer display / kiosk page of a register with its event stream (opened with the register's `display_key`, never an API key), their assets, and, with a `[sandbox]`, the cashier demo page."},
        {"name": "callbacks", "description": "Bank notifications about payments, authenticated by the bank's signature."},
        {"name": "admin", "description": "The store admin's read-only journal: the `/admin` page and the JSON it reads (`/v1/admin/...`, admin key only)."},
        {"name": "operations", "description": "Liveness (`/healthz`), readiness (`/readyz`), Prometheus metrics (`/metrics`) and this document."},
        {"name": "sandbox", "description": SANDBOX_TAG},
    ],
    "paths": paths,
    "components": {
        "securitySchemes": {
            "registerKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "The register's `api_key` from its `[[registers]]` entry (at least 16 characters, one per register): `Authorization: Bearer <key>`. Sees only that register's payments and refunds.",
            },
            "adminKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "The store admin's `admin_api_key` from the configuration (at least 16 characters; absent = no admin access): `Authorization: Bearer <key>`. Read-only, over every register: accepted by `GET /v1/payments`, `GET /v1/payments/{id}`, `GET /v1/refunds/{id}`, `GET /v1/events` (every register's), `/v1/admin/...` and `GET /metrics`; every other `/v1` operation (changes, link checks, QR pictures and slips) answers it `403 admin_read_only`.",
            },
        },
        "schemas": schemas,
        "parameters": parameters,
        "headers": headers,
        "responses": responses,
    },
}

json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\n")
