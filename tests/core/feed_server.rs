//! A web server on 127.0.0.1 for the subscription tests: it serves the published feed
//! documents of tests/fixtures/feeds (and pages, pictures) with real ETag and Last-Modified
//! handling, and injects the faults real servers have: error statuses with Retry-After,
//! answers that never come, bodies cut short, redirect loops, permanent moves, oversized
//! answers. Every request is logged for the test to check (path and validators sent).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server does for one path.
#[derive(Debug, Clone)]
pub enum Route {
    /// A document with an ETag (derived from its bytes) and a fixed Last-Modified.
    Document { body: Vec<u8>, content_type: &'static str },
    /// A status with extra headers and a short body.
    Status { code: u16, headers: Vec<(&'static str, String)> },
    /// A redirect to `location`.
    Redirect { code: u16, location: String },
    /// Accepts the request and never answers.
    Hang,
    /// Claims `claimed` bytes, sends the first half of `body`, and closes.
    Truncated { body: Vec<u8> },
    /// A body bigger than any feed should be (sent as it is read).
    Huge { bytes: usize },
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
}

#[derive(Clone)]
pub struct FeedServer {
    pub base: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    log: Arc<Mutex<Vec<Seen>>>,
}

const LAST_MODIFIED: &str = "Mon, 23 Nov 2026 05:00:00 GMT";

impl FeedServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let server = Self { base, routes: Arc::default(), log: Arc::default() };
        let handle = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handle = handle.clone();
                std::thread::spawn(move || handle.serve(stream));
            }
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn route(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_owned(), route);
    }

    /// Serves a fixture file from tests/fixtures/feeds at `path`.
    pub fn fixture(&self, path: &str, file: &str, content_type: &'static str) {
        let body = std::fs::read(super::feed_documents::fixtures().join(file)).unwrap();
        self.route(path, Route::Document { body, content_type });
    }

    pub fn requests(&self, path: &str) -> Vec<Seen> {
        self.log.lock().unwrap().iter().filter(|seen| seen.path == path).cloned().collect()
    }

    fn serve(&self, mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        self.log.lock().unwrap().push(Seen {
            path: path.clone(),
            if_none_match: headers.get("if-none-match").cloned(),
            if_modified_since: headers.get("if-modified-since").cloned(),
        });
        let route = self.routes.lock().unwrap().get(&path).cloned();
        let write = |stream: &mut TcpStream, code: u16, headers: &[(&str, String)], body: &[u8]| {
            let mut head =
                format!("HTTP/1.1 {code} {}\r\nContent-Length: {}\r\nConnection: close\r\n", reason(code), body.len());
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        };
        match route {
            None => write(&mut stream, 404, &[], b"not found"),
            Some(Route::Document { body, content_type }) => {
                let etag = format!(
                    "\"{:x}\"",
                    body.iter().fold(0u64, |hash, byte| hash.wrapping_mul(31).wrapping_add(u64::from(*byte)))
                );
                if headers.get("if-none-match") == Some(&etag) {
                    write(&mut stream, 304, &[("ETag", etag)], b"");
                } else {
                    let headers = [
                        ("Content-Type", content_type.to_owned()),
                        ("ETag", etag),
                        ("Last-Modified", LAST_MODIFIED.to_owned()),
                    ];
                    write(&mut stream, 200, &headers, &body);
                }
            }
            Some(Route::Status { code, headers }) => write(&mut stream, code, &headers, b"it went wrong"),
            Some(Route::Redirect { code, location }) => write(&mut stream, code, &[("Location", location)], b""),
            Some(Route::Hang) => {
                std::thread::sleep(Duration::from_secs(60));
            }
            Some(Route::Truncated { body }) => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body[..body.len() / 2]);
            }
            Some(Route::Huge { bytes }) => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n<rss version=\"2.0\"><channel>");
                let chunk = vec![b' '; 64 * 1024];
                let mut sent = 0;
                while sent < bytes {
                    if stream.write_all(&chunk).is_err() {
                        break;
                    }
                    sent += chunk.len();
                }
            }
        }
        let _ = stream.flush();
        let mut rest = Vec::new();
        let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
        let _ = reader.read_to_end(&mut rest);
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        308 => "Permanent Redirect",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
