//! A foreign host: answers every request with a fixed reply and records
//! what it was sent, so a test can prove no credential reached it.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::http::{read_head, respond};

/// A running capture server on 127.0.0.1; serves until the process ends.
pub struct Capture {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    /// Answer every request `200 OK` with `body` (JSON).
    pub fn start(body: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind capture");
        let port = listener.local_addr().expect("addr").port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                if let Some(head) = read_head(&mut stream) {
                    seen.lock().unwrap().push(head);
                    respond(&mut stream, "200 OK", &[("Content-Type", "application/json")], body.as_bytes());
                }
            }
        });
        Self { port, heads }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request head received, in order.
    pub fn requests(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}
