//! Logs never hold a full phone or ID number: everything ticket-core logs while
//! handling a caller's data is captured here and searched.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn phone_and_id_numbers_are_masked_in_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let h = start().await;
    let mut request = wage_ticket("13812345678");
    request.caller.as_mut().unwrap().resident_id = "11010519491231002X".into();
    h.tickets("agent01").create_ticket(request).await.unwrap();
    let mut bad = wage_ticket("13812345678");
    bad.caller.as_mut().unwrap().resident_id = "110105194912310021".into();
    h.tickets("agent01").create_ticket(bad).await.unwrap_err();
    h.tickets("agent01")
        .lookup_caller(hotline_api::ticket::v1::LookupCallerRequest {
            phone: "13812345678".into(),
            limit: 0,
        })
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("138****5678"),
        "the masked caller is logged:\n{logs}"
    );
    for secret in ["13812345678", "11010519491231002X", "110105194912310021"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
