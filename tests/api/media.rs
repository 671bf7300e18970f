//! QR pictures and receipt slips: `GET /v1/payments/{id}/qr.{svg,png,txt}` and
//! `/receipt.{escpos,txt}`. Every picture is decoded back to the exact NSPK payload (rqrr, and
//! Debian's `zbarimg` as an independent decoder); ESC/POS bytes are compared with golden
//! files in `tests/data/receipts` (`QRPAYD_UPDATE_GOLDEN=1` rewrites them).

use std::path::{Path, PathBuf};

use chrono::TimeZone;
use qrpayd_domain::money::Kopecks;
use qrpayd_service::media::Lang;
use qrpayd_service::media::receipt::{self, Paper, QrPrint, Slip};

use crate::helpers::*;

struct Bytes {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Bytes {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "{}: not JSON: {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("<no code>")
            .to_owned()
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

async fn fetch(app: &TestApp, path: &str, key: Option<&str>) -> Bytes {
    let mut request = app.http.get(format!("{}{path}", app.base));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.bytes().await.unwrap().to_vec();
    Bytes {
        status,
        content_type,
        body,
    }
}

/// The one QR code in a grey-scale picture.
fn decode(image: image::GrayImage) -> String {
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code in the picture");
    grids[0].decode().unwrap().1
}

fn decode_png(bytes: &[u8]) -> (String, (u32, u32)) {
    let image = image::load_from_memory(bytes).unwrap().to_luma8();
    let dimensions = image.dimensions();
    (decode(image), dimensions)
}

/// Modules of the half-block text back to a picture, 4 px per module.
fn text_to_image(text: &str, dark_background: bool) -> image::GrayImage {
    let mut rows: Vec<Vec<bool>> = Vec::new();
    for line in text.lines() {
        let (top, bottom): (Vec<bool>, Vec<bool>) = line
            .chars()
            .map(|c| match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            })
            .map(|(t, b)| (t != dark_background, b != dark_background))
            .unzip();
        rows.push(top);
        rows.push(bottom);
    }
    let width = u32::try_from(rows[0].len() * 4).unwrap();
    let height = u32::try_from(rows.len() * 4).unwrap();
    image::GrayImage::from_fn(width, height, |x, y| {
        let dark = rows[usize::try_from(y / 4).unwrap()][usize::try_from(x / 4).unwrap()];
        image::Luma([if dark { 0 } else { 255 }])
    })
}

/// The bitmap of every `GS v 0` raster command in ESC/POS bytes, stacked.
fn escpos_raster(bytes: &[u8]) -> image::GrayImage {
    let mut rows: Vec<Vec<bool>> = Vec::new();
    let mut at = 0;
    while let Some(found) = bytes[at..]
        .windows(4)
        .position(|w| w == [0x1D, b'v', b'0', 0])
    {
        let start = at + found + 4;
        let x = usize::from(bytes[start]) + 256 * usize::from(bytes[start + 1]);
        let y = usize::from(bytes[start + 2]) + 256 * usize::from(bytes[start + 3]);
        let data = &bytes[start + 4..start + 4 + x * y];
        for row in data.chunks(x) {
            rows.push(
                (0..x * 8)
                    .map(|dot| row[dot / 8] & (0x80 >> (dot % 8)) != 0)
                    .collect(),
            );
        }
        at = start + 4 + x * y;
    }
    assert!(!rows.is_empty(), "no GS v 0 raster in the bytes");
    let width = u32::try_from(rows[0].len()).unwrap();
    let height = u32::try_from(rows.len()).unwrap();
    image::GrayImage::from_fn(width, height, |x, y| {
        let dark = rows[usize::try_from(y).unwrap()][usize::try_from(x).unwrap()];
        image::Luma([if dark { 0 } else { 255 }])
    })
}

/// The data of the `GS ( k … 49 80 48` (store) command in ESC/POS bytes.
fn escpos_native_qr(bytes: &[u8]) -> String {
    let at = bytes
        .windows(3)
        .enumerate()
        .filter(|(_, w)| *w == [0x1D, b'(', b'k'])
        .map(|(i, _)| i)
        .find(|&i| bytes[i + 5..i + 8] == [49, 80, 48])
        .unwrap();
    let len = usize::from(bytes[at + 3]) + 256 * usize::from(bytes[at + 4]) - 3;
    String::from_utf8(bytes[at + 8..at + 8 + len].to_vec()).unwrap()
}

fn payload_of(p: &serde_json::Value) -> String {
    p["qr"]["payload"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn png_decodes_to_the_exact_payload_at_the_asked_size() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let payload = payload_of(&p);

    let png = fetch(
        &app,
        &format!("/v1/payments/{id}/qr.png?size=300"),
        Some(KEY),
    )
    .await;
    assert_eq!(png.status, 200);
    assert_eq!(png.content_type, "image/png");
    assert_eq!(decode_png(&png.body), (payload.clone(), (300, 300)));

    let default = fetch(&app, &format!("/v1/payments/{id}/qr.png"), Some(KEY)).await;
    assert_eq!(decode_png(&default.body), (payload.clone(), (512, 512)));

    // The smallest allowed size still decodes (two pixels per module).
    let small = fetch(
        &app,
        &format!("/v1/payments/{id}/qr.png?size=98"),
        Some(KEY),
    )
    .await;
    assert_eq!(small.status, 200, "{}", small.text());
    assert_eq!(decode_png(&small.body).0, payload);
}

#[tokio::test]
async fn svg_and_terminal_text_carry_the_same_qr() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let payload = payload_of(&p);

    let svg = fetch(&app, &format!("/v1/payments/{id}/qr.svg"), Some(KEY)).await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.content_type, "image/svg+xml");
    let text = svg.text();
    assert!(
        text.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 49 49" shape-rendering="crispEdges">"#),
        "{text}"
    );
    let sized = fetch(
        &app,
        &format!("/v1/payments/{id}/qr.svg?size=256"),
        Some(KEY),
    )
    .await;
    assert!(sized.text().contains(r#" width="256" height="256""#));

    for (query, dark) in [
        ("", true),
        ("?background=dark", true),
        ("?background=light", false),
    ] {
        let txt = fetch(&app, &format!("/v1/payments/{id}/qr.txt{query}"), Some(KEY)).await;
        assert_eq!(txt.status, 200);
        assert_eq!(txt.content_type, "text/plain; charset=utf-8");
        let text = txt.text();
        // 49 modules wide, two module rows per line.
        assert_eq!(text.lines().count(), 25);
        assert!(text.lines().all(|l| l.chars().count() == 49));
        assert_eq!(decode(text_to_image(&text, dark)), payload, "{query}");
    }
}

#[tokio::test]
async fn the_qr_is_read_like_the_payment_and_only_while_payable() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let path = format!("/v1/payments/{id}/qr.png");

    assert_eq!(fetch(&app, &path, None).await.code(), "unauthorized");
    // Another register's payment does not exist for this key; the admin key reads payments
    // but gets no QR picture or slip (a payable QR goes to the register's screen or printer).
    let other = fetch(&app, &path, Some(OTHER_KEY)).await;
    assert_eq!((other.status, other.code()), (404, "not_found".to_owned()));
    for what in [
        "qr.png",
        "qr.svg",
        "qr.txt",
        "receipt.escpos",
        "receipt.txt",
    ] {
        let admin = fetch(&app, &format!("/v1/payments/{id}/{what}"), Some(ADMIN_KEY)).await;
        assert_eq!(
            (admin.status, admin.code()),
            (403, "admin_read_only".to_owned()),
            "{what}"
        );
    }
    let unknown = fetch(&app, "/v1/payments/pay_nope/qr.svg", Some(KEY)).await;
    assert_eq!(unknown.code(), "not_found");

    // Paid: the QR must not be shown or printed any more.
    app.customer_pays(&p).await;
    app.until_status(id, "paid").await;
    for what in [
        "qr.png",
        "qr.svg",
        "qr.txt",
        "receipt.escpos",
        "receipt.txt",
    ] {
        let a = fetch(&app, &format!("/v1/payments/{id}/{what}"), Some(KEY)).await;
        assert_eq!(
            (a.status, a.code()),
            (409, "qr_not_payable".to_owned()),
            "{what}"
        );
        assert!(
            a.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("paid")
        );
    }

    // Cancelled: the same.
    let c = app.create_ok("sale-2").await;
    let cid = c["id"].as_str().unwrap();
    assert_eq!(app.cancel(cid).await.status, 200);
    let a = fetch(&app, &format!("/v1/payments/{cid}/qr.svg"), Some(KEY)).await;
    assert_eq!(a.code(), "qr_not_payable");
}

#[tokio::test]
async fn bad_sizes_widths_and_options_are_json_errors() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let cases = [
        ("qr.png?size=10", 400, "invalid_size"),
        ("qr.png?size=97", 400, "invalid_size"),
        ("qr.png?size=big", 400, "invalid_size"),
        ("qr.png?size=100000", 400, "invalid_size"),
        ("qr.svg?size=-5", 400, "invalid_size"),
        ("qr.png?sise=300", 400, "invalid_query"),
        ("qr.txt?background=blue", 400, "invalid_option"),
        ("receipt.escpos?width=57", 400, "invalid_width"),
        ("receipt.txt?width=80mm", 400, "invalid_width"),
        ("receipt.escpos?qr=laser", 400, "invalid_option"),
        ("receipt.escpos?lang=de", 400, "invalid_option"),
        ("receipt.escpos?cut=maybe", 400, "invalid_option"),
        ("receipt.txt?qr=native", 400, "invalid_query"),
    ];
    for (what, status, code) in cases {
        let a = fetch(&app, &format!("/v1/payments/{id}/{what}"), Some(KEY)).await;
        assert_eq!((a.status, a.code()), (status, code.to_owned()), "{what}");
        assert!(a.content_type.starts_with("application/json"), "{what}");
        assert!(a.json()["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn receipts_print_the_qr_natively_or_as_a_raster_and_the_slip_as_text() {
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let payload = payload_of(&p);

    let native = fetch(
        &app,
        &format!("/v1/payments/{id}/receipt.escpos?width=58&qr=native"),
        Some(KEY),
    )
    .await;
    assert_eq!(native.status, 200);
    assert_eq!(native.content_type, "application/octet-stream");
    assert!(native.body.starts_with(&[0x1B, b'@', 0x1B, b't', 17]));
    assert_eq!(escpos_native_qr(&native.body), payload);
    // "Сумма:" in code page 866, and the cut at the end.
    assert!(
        native
            .body
            .windows(6)
            .any(|w| w == [0x91, 0xE3, 0xAC, 0xAC, 0xA0, b':'])
    );
    assert!(native.body.ends_with(&[0x1D, b'V', 66, 0]));

    for width in ["58", "80"] {
        let raster = fetch(
            &app,
            &format!("/v1/payments/{id}/receipt.escpos?width={width}&qr=raster&lang=en&cut=false"),
            Some(KEY),
        )
        .await;
        assert_eq!(raster.status, 200);
        let image = escpos_raster(&raster.body);
        assert_eq!(image.width(), if width == "58" { 384 } else { 576 });
        assert_eq!(decode(image), payload, "width {width}");
        assert!(!raster.body.ends_with(&[0x1D, b'V', 66, 0]));
        assert!(raster.body.windows(7).any(|w| w == b"Amount:"));
    }

    let text = fetch(
        &app,
        &format!("/v1/payments/{id}/receipt.txt?width=58"),
        Some(KEY),
    )
    .await;
    assert_eq!(text.status, 200);
    assert_eq!(text.content_type, "text/plain; charset=utf-8");
    let slip = text.text();
    assert!(slip.contains("123.45 руб."), "{slip}");
    assert!(slip.contains("receipt-1"), "{slip}");
    assert!(slip.lines().all(|l| l.chars().count() <= 32), "{slip}");
    let english = fetch(
        &app,
        &format!("/v1/payments/{id}/receipt.txt?lang=en"),
        Some(KEY),
    )
    .await;
    assert!(english.text().contains("123.45 RUB"));
    assert!(english.text().lines().all(|l| l.chars().count() <= 48));
}

const GOLDEN_PAYLOAD: &str = "https://qr.nspk.ru/AD1KSE14O9EAV3ENU6H1DQUO93FCMAE1?type=02&bank=100000000007&sum=12345&cur=RUB&crc=A667";

fn golden_slip() -> Slip<'static> {
    Slip {
        amount: Kopecks::new(12345).unwrap(),
        order: Some("receipt-1"),
        // fixed-date: the golden slip's printed expiry; rendering reads no clock.
        expires_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, 9, 5, 0)
            .single()
            .unwrap(),
        payload: GOLDEN_PAYLOAD,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/receipts")
}

/// `xxd`-like lines around `at`, for a readable failure.
fn hex_window(bytes: &[u8], at: usize) -> String {
    let start = at.saturating_sub(16) / 16 * 16;
    bytes
        .chunks(16)
        .enumerate()
        .skip(start / 16)
        .take(4)
        .map(|(i, row)| {
            let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
            format!("{:08x}  {}", i * 16, hex.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_golden(name: &str, actual: &[u8]) {
    let path = golden_dir().join(name);
    if std::env::var_os("QRPAYD_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with QRPAYD_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let at = expected
            .iter()
            .zip(actual)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        panic!(
            "{name} differs from the golden file at byte {at} (lengths {} → {}); if the change is \
             intended, rerun with QRPAYD_UPDATE_GOLDEN=1 and review the diff.\nexpected:\n{}\nactual:\n{}",
            expected.len(),
            actual.len(),
            hex_window(&expected, at),
            hex_window(actual, at)
        );
    }
}

#[test]
fn escpos_bytes_match_the_golden_files() {
    let slip = golden_slip();
    let cases = [
        (
            "58-native-ru.escpos",
            Paper::Mm58,
            QrPrint::Native,
            Lang::Ru,
            true,
        ),
        (
            "80-native-en.escpos",
            Paper::Mm80,
            QrPrint::Native,
            Lang::En,
            true,
        ),
        (
            "58-raster-ru.escpos",
            Paper::Mm58,
            QrPrint::Raster,
            Lang::Ru,
            false,
        ),
    ];
    for (name, paper, mode, lang, cut) in cases {
        let bytes = receipt::escpos(&slip, paper, mode, lang, cut).unwrap();
        check_golden(name, &bytes);
    }
    for (name, paper, lang) in [
        ("58-ru.txt", Paper::Mm58, Lang::Ru),
        ("80-en.txt", Paper::Mm80, Lang::En),
    ] {
        check_golden(name, receipt::text(&slip, paper, lang).as_bytes());
    }
}

/// Debian's `zbarimg`, an independent decoder: required when `QRPAYD_REQUIRE_ZBAR` is set
/// (`.ci/run` sets it and installs zbar-tools), else skipped with a loud message
/// (`qrpayd_store::test_env`).
fn zbarimg(test: &str) -> Option<String> {
    if let Some(path) = qrpayd_store::test_env::on_path("zbarimg") {
        return Some(path.display().to_string());
    }
    qrpayd_store::test_env::missing(
        test,
        &qrpayd_store::test_env::ZBARIMG,
        "no `zbarimg` on PATH, so the PNGs were NOT checked by an independent decoder",
    );
    None
}

fn zbar_decode(tool: &str, file: &Path) -> String {
    let output = std::process::Command::new(tool)
        .args(["-q", "--raw"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "zbarimg failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .trim_end_matches('\n')
        .to_owned()
}

#[tokio::test]
async fn zbarimg_reads_the_png_and_the_printed_raster() {
    let Some(tool) = zbarimg("zbarimg_reads_the_png_and_the_printed_raster") else {
        return;
    };
    let app = spawn_app().await;
    let p = app.create_ok("sale-1").await;
    let id = p["id"].as_str().unwrap();
    let payload = payload_of(&p);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("qrpayd-media");
    std::fs::create_dir_all(&dir).unwrap();

    for size in [200, 512] {
        let png = fetch(
            &app,
            &format!("/v1/payments/{id}/qr.png?size={size}"),
            Some(KEY),
        )
        .await;
        let file = dir.join(format!("qr-{size}.png"));
        std::fs::write(&file, &png.body).unwrap();
        assert_eq!(zbar_decode(&tool, &file), payload, "{}", file.display());
    }
    let raster = fetch(
        &app,
        &format!("/v1/payments/{id}/receipt.escpos?width=58&qr=raster"),
        Some(KEY),
    )
    .await;
    let file = dir.join("receipt-58-raster.png");
    escpos_raster(&raster.body).save(&file).unwrap();
    assert_eq!(zbar_decode(&tool, &file), payload, "{}", file.display());
}
