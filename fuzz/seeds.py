#!/usr/bin/env python3
"""Writes the seed corpus (fuzz/corpus/<target>/) from the banks' published documents and the
repository's own examples. Run from the repository root:

    python3 fuzz/seeds.py [path to T-Bank's openapi.json]

The output is committed; rerun only to refresh the seeds (it overwrites files named seed-*)."""
import hashlib, json, os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
RAIF_SPEC = os.path.join(ROOT, "crates/bank/tests/data/raiffeisen-sbp.json")
TBANK_SPEC = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/specs/tbank/openapi.json"


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, f"seed-{name}"), "wb") as f:
        f.write(data)


def examples(node, path=()):
    """Every (path, example value) in an OpenAPI document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "example":
                yield path, value
            elif key == "examples" and isinstance(value, dict):
                for name, ex in value.items():
                    yield path + (name,), ex.get("value", ex) if isinstance(ex, dict) else ex
            else:
                yield from examples(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from examples(value, path + (str(i),))


def short(data):
    return hashlib.sha1(data.encode()).hexdigest()[:10]


# --- bank answers: every response example of both specs, and answers naming our request ---
raif = json.load(open(RAIF_SPEC))
for path, value in examples(raif.get("paths", {})):
    if "responses" in path and isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False)
        write("bank_answers", "raif-" + short(text), text)
tbank = json.load(open(TBANK_SPEC)) if os.path.exists(TBANK_SPEC) else {"paths": {}}
for endpoint in ("/v2/Init", "/v2/GetQr", "/v2/GetState", "/v2/Cancel"):
    for path, value in examples(tbank["paths"].get(endpoint, {})):
        if "responses" in path and isinstance(value, dict):
            text = json.dumps(value, ensure_ascii=False)
            write("bank_answers", "tbank-" + short(text), text)
QR = "AD100004BAL7227F9BNP6KNE007J9B3K"
LINK = f"https://qr.nspk.ru/{QR}?type=02&bank=100000000007&sum=12345&cur=RUB&crc=0000"
ours = [
    {"code": "SUCCESS", "qrId": QR, "payload": LINK, "qrUrl": "x"},
    {"code": "SUCCESS", "amount": 123.45, "currency": "RUB", "order": "pay_1", "paymentStatus": "SUCCESS", "qrId": QR, "transactionId": 17998},
    {"qrId": QR, "qrStatus": "CANCELLED", "qrExpirationDate": "2023-07-22T09:14:38+03:00", "payload": LINK, "qrUrl": "x"},
    {"code": "SUCCESS", "amount": 123.45, "refundStatus": "COMPLETED"},
    {"code": "ERROR.REFUND_NOT_FOUND", "message": "нет"},
    {"code": "ERROR.QR_ALREADY_PAID", "message": "paid"},
    {"callbackUrl": "https://yoururl.ru"},
    {"id": "pay_1", "amount": 123.45, "comment": None, "status": {"value": "PAID", "date": "2021-12-24T11:15:22.000Z"}, "expirationDate": "2021-12-24T11:20:22.000Z", "qr": {"id": "AS1R0000000000000000000000000TST"}},
    {"Success": True, "ErrorCode": "0", "TerminalKey": "TinkoffBankTest", "Status": "NEW", "PaymentId": "3093639567", "OrderId": "pay_1", "Amount": 12345, "PaymentURL": "https://securepay.tinkoff.ru/new/fU1ppgqa"},
    {"Success": True, "ErrorCode": "0", "TerminalKey": "TinkoffBankTest", "OrderId": "pay_1", "PaymentId": 3093639567, "Data": LINK},
    {"Success": True, "ErrorCode": "0", "TerminalKey": "TinkoffBankTest", "Status": "CONFIRMED", "PaymentId": "3093639567", "OrderId": "pay_1", "Amount": 12345},
    {"Success": True, "ErrorCode": "0", "TerminalKey": "TinkoffBankTest", "Status": "REFUNDED", "PaymentId": "3093639567", "OrderId": "pay_1", "OriginalAmount": 12345, "NewAmount": 0},
    {"Success": False, "ErrorCode": "204", "Message": "Неверный токен.", "Details": "Проверьте пару TerminalKey и Password."},
]
for value in ours:
    text = json.dumps(value, ensure_ascii=False)
    write("bank_answers", "ours-" + short(text), text)
write("bank_answers", "empty", "")
write("bank_answers", "html", "<html><body>502 Bad Gateway</body></html>")

# --- notifications ---
notice = {"transactionId": 17998, "qrId": "AS1000408BSPMRDI8IHBGO4DFQAISU9O", "sbpMerchantId": "MA0000000552", "merchantId": 123, "amount": 123.45, "currency": "RUB", "transactionDate": "2020-07-24T17:20:00.999232+03:00", "paymentStatus": "SUCCESS", "additionalInfo": None, "order": "pay_1", "createDate": "2020-07-24T17:19:58+03:00"}
schema = raif["components"]["schemas"].get("paymentNotification", {}).get("properties", {})
from_spec = {k: v["example"] for k, v in schema.items() if "example" in v}
for value in (notice, dict(notice, amount=10.5, paymentStatus="DECLINED", order=None), from_spec):
    text = json.dumps(value, ensure_ascii=False)
    write("raiffeisen_notification", short(text), text)
write("raiffeisen_notification", "amount-as-written", json.dumps(notice).replace("123.45", "123.450"))
order = {"event": "payment", "transaction": {"id": 120059, "orderId": "pay_1", "status": {"value": "SUCCESS", "date": "2021-12-24T11:15:22.000Z"}, "paymentMethod": "sbp", "paymentParams": {"qrId": "AS1R0000000000000000000000000TST"}, "amount": 123.45, "comment": "x", "extra": {}}}
write("raiffeisen_notification", "order", json.dumps(order))
for path, value in examples(tbank["paths"].get("/v2/Notification", {})):
    if isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False)
        write("tbank_notification", short(text), text)
for status in ("CONFIRMED", "REJECTED", "REFUNDED", "RECEIPT"):
    value = {"TerminalKey": "TinkoffBankTest", "OrderId": "pay_1", "Success": True, "Status": status, "PaymentId": 3093639567, "ErrorCode": "0", "Amount": 12345, "Pan": "+7 (***) ***-**-99", "Token": "0" * 64}
    write("tbank_notification", status.lower(), json.dumps(value))

# --- NSPK links ---
links = [
    LINK,
    f"https://qr.nspk.ru/{QR}",
    f"https://qr.nspk.ru/{QR}?type=01&bank=100000000007&crc=ABCD\nhttps://qr.nspk.ru/{QR}",
    "https://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000007\nhttps://qr.nspk.ru/AS1R0000000000000000000000000TST?type=01&bank=100000000007",
    "HTTPS://QR.NSPK.RU/ad100004bal7227f9bnp6kne007j9b3k?sum=1&cur=RUB\r\n",
    "https://example.com/AD100004BAL7227F9BNP6KNE007J9B3K",
    "not a link",
]
for i, link in enumerate(links):
    write("nspk_link", str(i), link)

# --- registries ---
sample = open(os.path.join(ROOT, "crates/bank/tests/data/SBPreport.csv"), "rb").read()
write("registry_csv", "SBPreport.csv", sample)
write("registry_csv", "SBPreport-utf8.csv", sample.decode("cp1251").encode())
write("registry_csv", "SBPreport-bom.csv", b"\xef\xbb\xbf" + sample.decode("cp1251").encode())

# --- configuration ---
write("config_toml", "packaging.toml", open(os.path.join(ROOT, "packaging/qrpayd.toml"), "rb").read())
write("config_toml", "tests.toml", """listen = "127.0.0.1:8080"
database_url = "sqlite://q.db?mode=rwc"
public_url = "http://127.0.0.1:8080"
payment_ttl_seconds = 300
register_timeout_seconds = 310
bank_timeout_seconds = 1
max_wait_seconds = 10
late_payment_policy = "refund"
admin_api_key = "admin-test-key-0123456789"

[[registers]]
id = "pos-1"
api_key = "pos1-test-key-0123456789"
display_key = "pos1-display-key-0123456789"
provider = "raiffeisen"

[[providers]]
name = "raiffeisen"
kind = "raiffeisen"
base_url = "http://127.0.0.1:9"
sbp_merchant_id = "MA0000000552"
secret_key = "sandbox-secret-key"
poll_interval_ms = 2000

[[providers]]
name = "tbank"
kind = "tbank"
base_url = "http://127.0.0.1:9/tbank"
terminal_key = "TinkoffBankTest"
password = "p"
""")

# --- POS API requests ---
requests = {
    "create": "POST /v1/payments\nIdempotency-Key: fuzz-1\n\n{\"amount\": 12345, \"order\": \"receipt-1\", \"description\": \"Кофе\"}",
    "create-all": "POST /v1/payments\nIdempotency-Key: fuzz-2\n\n{\"amount\": 100, \"currency\": \"RUB\", \"provider\": \"raiffeisen\", \"qr_type\": \"dynamic\", \"customer_qr\": null}",
    "create-customer": "POST /v1/payments\nIdempotency-Key: fuzz-3\n\n{\"amount\": 100, \"customer_qr\": \"https://qr.nspk.ru/AD100004BAL7227F9BNP6KNE007J9B3K\"}",
    "create-no-key": "POST /v1/payments\n\n{\"amount\": 1}",
    "create-text": "POST /v1/payments\nIdempotency-Key: fuzz-4\nContent-Type: text/plain\n\namount=1",
    "refund": "POST /v1/payments/{paid}/refunds\nIdempotency-Key: fuzz-r1\n\n{\"amount\": 100, \"reason\": \"return\"}",
    "refund-full": "POST /v1/payments/{paid}/refunds\nIdempotency-Key: fuzz-r2\n\n{}",
    "list": "GET /v1/payments?status=paid&limit=10&order=receipt-1",
    "list-dates": "GET /v1/payments?from=2026-01-01&to=2026-12-31T00:00:00%2B03:00&limit=2&late=true",
    "events": "GET /v1/events?after=0&limit=100",
    "get-wait": "GET /v1/payments/{paid}?wait=1",
    "get-wait-pending": "GET /v1/payments/{pending}?wait=0",
    "get": "GET /v1/payments/{pending}",
    "cancel": "POST /v1/payments/{pending}/cancel\n\n",
    "no-auth": "GET /v1/payments\nAuthorization: Bearer wrong",
}
for name, text in requests.items():
    write("pos_api", name, text)
print("seeds written under", CORPUS)
