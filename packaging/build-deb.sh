#!/usr/bin/env bash
# Builds qrpayd_<version>_amd64.deb with Debian's own dpkg-deb (no cargo-deb: nothing to
# install or compile, and the package stays a handful of plain files reviewed here).
#
#   packaging/build-deb.sh                     # release binary (cargo build --release), the README's command
#   packaging/build-deb.sh --debug             # target/debug/qrpayd as it is (CI: no second full build)
#   packaging/build-deb.sh --version 0.1.1 --output DIR
#
# Contents: /usr/bin/qrpayd; /lib/systemd/system/qrpayd.service (hardened unit);
# /etc/qrpayd/qrpayd.toml (commented template, a conffile, 0640 root:qrpayd); the README.
# The maintainer scripts (packaging/debian/) create the qrpayd system user and
# /var/lib/qrpayd, and restart a running service on upgrade.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
profile=release
version=""
output="$root/target/debian"
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) profile=debug ;;
    --version) version="$2"; shift ;;
    --output) output="$2"; shift ;;
    *) echo "usage: $0 [--debug] [--version V] [--output DIR]" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$version" ] || version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
binary="$target_dir/$profile/qrpayd"
if [ "$profile" = release ]; then
  (cd "$root" && cargo build --release --locked --bin qrpayd)
fi
[ -x "$binary" ] || { echo "no $binary: build it first (cargo build)" >&2; exit 1; }

arch="$(dpkg --print-architecture)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
install -d -m 0755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" \
  "$stage/etc/qrpayd" "$stage/usr/share/doc/qrpayd"
install -m 0755 "$binary" "$stage/usr/bin/qrpayd"
[ "$profile" = release ] || strip --strip-debug "$stage/usr/bin/qrpayd" 2>/dev/null || true
install -m 0644 "$root/packaging/qrpayd.service" "$stage/lib/systemd/system/qrpayd.service"
install -m 0640 "$root/packaging/qrpayd.toml" "$stage/etc/qrpayd/qrpayd.toml"
install -m 0644 "$root/README.md" "$stage/usr/share/doc/qrpayd/README.md"
for script in postinst prerm postrm; do
  install -m 0755 "$root/packaging/debian/$script" "$stage/DEBIAN/$script"
done
echo /etc/qrpayd/qrpayd.toml > "$stage/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: qrpayd
Version: $version
Architecture: $arch
Maintainer: qrpayd developers <qrpayd@example.invalid>
Installed-Size: $size
Depends: adduser, libc6
Section: net
Priority: optional
Homepage: https://example.invalid/qrpayd
Description: SBP QR-payment integrator for retail stores
 qrpayd sits between cash registers and the banks: a register asks for a QR
 for a bill, qrpayd registers it at the bank, learns of the payment from the
 bank's notification (or by polling) and tells the register. Runs as the
 systemd service qrpayd.service with a SQLite journal in /var/lib/qrpayd.
CONTROL
mkdir -p "$output"
deb="$output/qrpayd_${version}_${arch}.deb"
compress=(-Zxz)
# A CI package of the debug binary: fast compression, it is installed and thrown away.
[ "$profile" = release ] || compress=(-Zgzip -z1)
dpkg-deb --root-owner-group "${compress[@]}" --build "$stage" "$deb" >/dev/null
echo "$deb"
