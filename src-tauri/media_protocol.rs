//! The `hearth://localhost/media/{id}` protocol: serves attachment bytes from the data
//! directory to the webview, with single-range support so audio can seek.

use hearth_core::App;
use tauri::http::{header, Request, Response, StatusCode};
use tauri::UriSchemeResponder;

/// Answers one protocol request on a worker thread.
/// Without an app (start-up failed), every request is answered 503.
pub fn respond(app: Option<App>, request: Request<Vec<u8>>, responder: UriSchemeResponder) {
    tauri::async_runtime::spawn_blocking(move || {
        let response = match &app {
            Some(app) => response_for(app, &request),
            None => text(StatusCode::SERVICE_UNAVAILABLE, "Hearth could not open its data"),
        };
        responder.respond(response);
    });
}

fn response_for(app: &App, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    let Some(media_id) = request.uri().path().strip_prefix("/media/").and_then(|id| id.parse::<i64>().ok()) else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    let file = match app.media_file(media_id) {
        Ok(file) => file,
        Err(error) => return text(StatusCode::NOT_FOUND, &error.to_string()),
    };
    let bytes = match std::fs::read(&file.path) {
        Ok(bytes) => bytes,
        Err(error) => return text(StatusCode::NOT_FOUND, &format!("cannot read media {media_id}: {error}")),
    };
    let total = bytes.len();
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_range(value, total));
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, file.mime)
        .header(header::ACCEPT_RANGES, "bytes")
        // The page's origin is tauri://localhost; media and fetches come from hearth://.
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header(header::CACHE_CONTROL, "private, max-age=31536000, immutable");
    let response = match range {
        Some((start, end)) => builder
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{total}"))
            .body(bytes[start..=end].to_vec()),
        None => builder.status(StatusCode::OK).body(bytes),
    };
    response.unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "cannot build the response"))
}

/// `bytes=START-[END]` within a file of `total` bytes, as inclusive offsets.
fn parse_range(value: &str, total: usize) -> Option<(usize, usize)> {
    let (start, end) = value.strip_prefix("bytes=")?.split_once('-')?;
    let start: usize = start.trim().parse().ok()?;
    let end = if end.trim().is_empty() {
        total.checked_sub(1)?
    } else {
        end.trim().parse::<usize>().ok()?.min(total.checked_sub(1)?)
    };
    (start <= end).then_some((start, end))
}

fn text(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(message.as_bytes().to_vec())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_clamped_and_validated() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=900-5000", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=50-10", 1000), None);
        assert_eq!(parse_range("bytes=-10", 1000), None);
        assert_eq!(parse_range("bytes=0-0", 0), None);
    }
}
