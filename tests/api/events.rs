//! The event feed: `GET /v1/events?after=<cursor>&wait=N`.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

async fn feed(app: &TestApp, key: &str, query: &str) -> Value {
    let a = app
        .request(
            reqwest::Method::GET,
            &format!("/v1/events{query}"),
            Some(key),
            None,
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body
}

#[tokio::test]
async fn a_register_follows_its_own_events_with_a_cursor() {
    let app = spawn_app().await;
    let first = feed(&app, KEY, "").await;
    assert_eq!(
        (
            first["events"].as_array().unwrap().len(),
            first["next"].as_i64()
        ),
        (0, Some(0))
    );
    let p = app.paid_payment("a").await;
    let page = feed(&app, KEY, "?after=0").await;
    let events = page["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["payment.created", "payment.paid"]);
    assert_eq!(events[1]["data"]["id"], p["id"]);
    assert!(events[1]["event_id"].as_str().unwrap().starts_with("ev_"));
    let next = page["next"].as_i64().unwrap();
    // Nothing new after the cursor; another register sees nothing of it; the admin sees all.
    assert_eq!(
        feed(&app, KEY, &format!("?after={next}")).await["events"],
        Value::Array(vec![])
    );
    assert_eq!(
        feed(&app, OTHER_KEY, "?after=0").await["events"],
        Value::Array(vec![])
    );
    assert_eq!(
        feed(&app, ADMIN_KEY, "?after=0").await["events"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A long-poll returns as soon as the next event is written.
    let waiter = {
        let (base, http) = (app.base.clone(), app.http.clone());
        tokio::spawn(async move {
            http.get(format!("{base}/v1/events?after={next}&wait=10"))
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    app.create_ok("b").await;
    let body = waiter.await.unwrap();
    assert_eq!(body["events"][0]["type"], "payment.created");
    assert!(started.elapsed() < Duration::from_secs(2));
    for bad in ["?after=-1", "?after=x", "?limit=0", "?since=1"] {
        let a = app
            .request(
                reqwest::Method::GET,
                &format!("/v1/events{bad}"),
                Some(KEY),
                None,
                None,
            )
            .await;
        assert_eq!((a.status, a.code()), (400, "invalid_query"), "{bad}");
    }
}
