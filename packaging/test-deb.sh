#!/usr/bin/env bash
# The package as a store's IT meets it, on this Debian machine (run by .ci/run as root; it
# installs qrpayd system-wide, then purges it): install, configure, start the unit's own
# ExecStart as the service user, pay through the embedded sandbox, read the journald fields,
# stop, upgrade to a newer version (configuration and journal kept, schema current), purge.
# There is no systemd as PID 1 here, so `systemctl enable --now` itself is not exercised;
# `systemd-analyze verify` checks the unit.
#
#   packaging/test-deb.sh            # packages target/debug/qrpayd (build it first)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "test-deb.sh installs a package: run it as root" >&2; exit 1; }
if dpkg -s qrpayd >/dev/null 2>&1; then
  echo "qrpayd is already installed on this machine; not touching it" >&2
  exit 1
fi
work="$(mktemp -d)"
pid=""
journald=""
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  [ -z "$journald" ] || kill "$journald" 2>/dev/null || true
  dpkg --purge qrpayd >/dev/null 2>&1 || true
  rm -rf /var/lib/qrpayd "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "-- $*"; }

step "build two versions of the package from target/debug/qrpayd"
old_deb="$("$root/packaging/build-deb.sh" --debug --version 0.0.9 --output "$work")"
new_deb="$("$root/packaging/build-deb.sh" --debug --version 0.1.0 --output "$work")"

step "install $(basename "$old_deb")"
dpkg -i "$old_deb" >/dev/null
[ -x /usr/bin/qrpayd ] || fail "no /usr/bin/qrpayd"
getent passwd qrpayd >/dev/null || fail "no qrpayd user"
[ "$(getent passwd qrpayd | cut -d: -f7)" = /usr/sbin/nologin ] || fail "qrpayd user has a login shell"
[ "$(stat -c '%a %U %G' /etc/qrpayd/qrpayd.toml)" = "640 root qrpayd" ] \
  || fail "config is $(stat -c '%a %U %G' /etc/qrpayd/qrpayd.toml), want 640 root qrpayd"
[ "$(stat -c '%a %U %G' /var/lib/qrpayd)" = "750 qrpayd qrpayd" ] || fail "state directory"
dpkg-query -W -f='${Conffiles}\n' qrpayd | grep -q '/etc/qrpayd/qrpayd.toml' || fail "not a conffile"
runuser -u nobody -- cat /etc/qrpayd/qrpayd.toml >/dev/null 2>&1 && fail "others can read the config"

step "systemd-analyze verify the unit"
systemd-analyze verify /lib/systemd/system/qrpayd.service
unit=/lib/systemd/system/qrpayd.service
for want in "User=qrpayd" "StateDirectory=qrpayd" "ProtectSystem=strict" "NoNewPrivileges=yes" \
    "Restart=on-failure" "LimitNOFILE="; do
  grep -q "^$want" "$unit" || fail "the unit lacks $want"
done

step "the template refuses to start until configured"
if runuser -u qrpayd -- /usr/bin/qrpayd check-config --config /etc/qrpayd/qrpayd.toml 2>"$work/err"; then
  fail "the template's placeholder keys were accepted"
fi
grep -q "api_key must be at least 16" "$work/err" || fail "unclear message: $(cat "$work/err")"

step "configure as the admin would (the embedded sandbox bank stands in for the bank)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key=pos1-package-test-key-0123
admin=admin-package-test-key-0123
secret=package-test-sandbox-secret
sed -i \
  -e "s|^listen = .*|listen = \"127.0.0.1:$port\"|" \
  -e "s|^api_key = \"CHANGE-ME\".*|api_key = \"$key\"|" \
  -e "s|^# admin_api_key = .*|admin_api_key = \"$admin\"|" \
  -e "s|^base_url = \"https://pay.raif.ru\".*|base_url = \"http://127.0.0.1:$port/sandbox-bank\"|" \
  -e "s|^sbp_merchant_id = .*|sbp_merchant_id = \"MA0000000552\"|" \
  -e "s|^secret_key = \"CHANGE-ME\".*|secret_key = \"$secret\"|" \
  /etc/qrpayd/qrpayd.toml
printf '\n[sandbox]\nsbp_merchant_id = "MA0000000552"\nsecret_key = "%s"\n' "$secret" >> /etc/qrpayd/qrpayd.toml
runuser -u qrpayd -- /usr/bin/qrpayd check-config --config /etc/qrpayd/qrpayd.toml >/dev/null

step "a journald to receive the service's log records"
journald_up() {
  python3 -c 'import socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"", "/run/systemd/journal/socket")' 2>/dev/null
}
if [ -x /lib/systemd/systemd-journald ] && ! journald_up; then
  mkdir -p /run/systemd/journal
  /lib/systemd/systemd-journald >/dev/null 2>&1 &
  journald=$!
  for _ in $(seq 1 50); do journald_up && break; sleep 0.1; done
fi

run_unit() { # runs the unit's ExecStartPre and ExecStart as its User, in its WorkingDirectory
  local pre start
  pre="$(sed -n 's/^ExecStartPre=//p' "$unit")"
  start="$(sed -n 's/^ExecStart=//p' "$unit")"
  (cd /var/lib/qrpayd && runuser -u qrpayd -- $pre >/dev/null)
  # As systemd connects stdout to the journal: JOURNAL_STREAM names that stream.
  (cd /var/lib/qrpayd && exec runuser -u qrpayd -- sh -c \
     'JOURNAL_STREAM="$(stat -L -c %d:%i /proc/$$/fd/1)" exec "$@"' sh $start) >"$work/stdout.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
  cat "$work/stdout.log" >&2
  fail "the unit's ExecStart did not answer /healthz"
}
stop_unit() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }

step "run the unit's ExecStart as qrpayd; /healthz, /readyz, a payment"
run_unit
curl -sf "http://127.0.0.1:$port/readyz" | grep -q '"status":"ready"' || fail "/readyz"
payment=$(curl -sf -X POST "http://127.0.0.1:$port/v1/payments" -H "Authorization: Bearer $key" \
  -H 'Idempotency-Key: pkg-1' -H 'Content-Type: application/json' \
  -d '{"amount": 12345, "provider": "raiffeisen", "order": "pkg-receipt-1"}')
id=$(echo "$payment" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf "http://127.0.0.1:$port/metrics" -H "Authorization: Bearer $admin" \
  | grep -q 'qrpayd_payments{provider="raiffeisen",status="pending"} 1' || fail "/metrics"
[ -f /var/lib/qrpayd/qrpayd.db ] || fail "the journal is not in /var/lib/qrpayd"
if journald_up; then
  sleep 0.5
  journalctl --no-pager -o cat SYSLOG_IDENTIFIER=qrpayd PAYMENT="$id" | grep -q "asking the bank for a QR" \
    || { cat "$work/stdout.log"; journalctl --no-pager -n 20 -o verbose | tail -60; fail "journalctl PAYMENT=$id finds nothing"; }
  echo "   journalctl PAYMENT=$id: $(journalctl --no-pager -o cat PAYMENT="$id" | wc -l) line(s)"
else
  echo "   (no systemd-journald binary: journal fields not checked)"
fi
stop_unit

step "upgrade to $(basename "$new_deb"): configuration and journal kept"
sum_before=$(md5sum /etc/qrpayd/qrpayd.toml)
dpkg -i "$new_deb" >/dev/null
[ "$(dpkg-query -W -f='${Version}' qrpayd)" = 0.1.0 ] || fail "not upgraded"
[ "$(md5sum /etc/qrpayd/qrpayd.toml)" = "$sum_before" ] || fail "the admin's configuration changed"
[ "$(stat -c '%a %U %G' /etc/qrpayd/qrpayd.toml)" = "640 root qrpayd" ] || fail "config permissions after upgrade"
runuser -u qrpayd -- /usr/bin/qrpayd migrate --check --config /etc/qrpayd/qrpayd.toml >/dev/null \
  || fail "schema not current after upgrade"
run_unit
curl -sf "http://127.0.0.1:$port/v1/payments/$id" -H "Authorization: Bearer $key" | grep -q "$id" \
  || fail "the payment did not survive the upgrade"
stop_unit

step "purge: program and configuration gone, the payment journal kept"
dpkg --purge qrpayd >/dev/null
[ ! -e /usr/bin/qrpayd ] || fail "/usr/bin/qrpayd left"
[ ! -e /etc/qrpayd ] || fail "/etc/qrpayd left"
[ ! -e "$unit" ] || fail "unit left"
[ -f /var/lib/qrpayd/qrpayd.db ] || fail "purge deleted the payment journal"
echo "package test passed"
