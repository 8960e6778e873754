//! RSS (0.9x, 1.0, 2.0), Atom and JSON Feed documents, read with feed-rs into Hearth's own
//! `FeedDocument`: each entry with a stable id (its guid, else its link, else a hash of its
//! content), its title, sanitised HTML and plain text, dates, and the media it carries
//! (enclosures, Media RSS, images in its HTML). And finding a site's feed from a web page's
//! `<link rel="alternate">`.

use sha2::{Digest as _, Sha256};
use url::Url;

use super::sanitise;
use crate::error::{Error, Result};
use crate::post::MediaKind;

/// Entries kept from one document: a feed with more has them cut, newest first.
pub const MAX_ENTRIES: usize = 500;
/// A post's plain text is cut at this many characters (the HTML stays whole).
const MAX_TEXT_CHARS: usize = 20_000;
/// Media kept per entry.
const MAX_MEDIA_PER_ENTRY: usize = 8;

/// What one feed document says.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedDocument {
    pub title: String,
    /// The site the feed belongs to.
    pub site_url: Option<String>,
    /// How long the publisher asks readers to wait between fetches (RSS `ttl`), in minutes.
    pub ttl_minutes: Option<u32>,
    pub entries: Vec<FeedEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// The guid or id; else the link; else `hash:` and the content hash.
    pub remote_id: String,
    pub url: Option<String>,
    pub title: Option<String>,
    /// Sanitised HTML (see `sanitise`), if the entry had any content or summary.
    pub html: Option<String>,
    /// The title and the text of the HTML: what search, tagging and ranking read.
    pub text: String,
    pub author: Option<String>,
    /// Milliseconds since the epoch: published, else updated, else `None` (the caller uses
    /// the time it first saw the entry).
    pub published_ms: Option<i64>,
    pub updated_ms: Option<i64>,
    pub media: Vec<RemoteMedia>,
    /// sha256 of the title, text and media URLs: spots the same entry under a new id.
    pub content_hash: String,
}

/// A picture or recording an entry points at, fetched later by the backend.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteMedia {
    pub url: String,
    pub kind: MediaKind,
    /// As the feed says it (checked again when fetched); may be empty.
    pub mime: String,
    pub size_bytes: Option<u64>,
    pub alt_text: Option<String>,
}

/// Whether `bytes` look like an HTML page rather than a feed.
pub fn looks_like_html(bytes: &[u8], content_type: Option<&str>) -> bool {
    if content_type.is_some_and(|kind| kind.to_ascii_lowercase().starts_with("text/html")) {
        return true;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// Reads a feed document. `url` is where it came from (relative links resolve against it).
pub fn parse(bytes: &[u8], url: &Url) -> Result<FeedDocument> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(url.as_str()))
        // An entry with no id gets an empty one here, and ours below (link, else content hash).
        .id_generator(|_, _, _| String::new())
        .build();
    let feed = parser.parse(bytes).map_err(|error| match error {
        feed_rs::parser::ParseFeedError::ParseError(feed_rs::parser::ParseErrorKind::NoFeedRoot) => {
            Error::invalid(format!("{url} is not an RSS, Atom or JSON feed"))
        }
        other => Error::invalid(format!("the feed at {url} cannot be read: {other}")),
    })?;
    let site_url = feed
        .links
        .iter()
        .find(|link| link.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .and_then(|link| resolve(url, &link.href));
    let title = feed
        .title
        .as_ref()
        .map(|title| sanitise::text_of(&title.content))
        .filter(|title| !title.is_empty())
        .unwrap_or_else(|| url.host_str().unwrap_or("Untitled feed").to_owned());
    let mut entries: Vec<FeedEntry> = feed.entries.into_iter().map(|entry| convert(entry, url)).collect();
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.published_ms.or(entry.updated_ms).unwrap_or(i64::MIN)));
    entries.truncate(MAX_ENTRIES);
    Ok(FeedDocument { title, site_url, ttl_minutes: feed.ttl, entries })
}

fn convert(entry: feed_rs::model::Entry, feed_url: &Url) -> FeedEntry {
    let base = entry.base.as_deref().and_then(|base| feed_url.join(base).ok()).unwrap_or_else(|| feed_url.clone());
    let url = entry
        .links
        .iter()
        .find(|link| link.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .and_then(|link| resolve(&base, &link.href));
    // An Atom id or RSS guid that is a web address is the entry's link when it has no other.
    let url = url.or_else(|| {
        Url::parse(entry.id.trim()).ok().filter(|id| matches!(id.scheme(), "http" | "https")).map(|id| id.to_string())
    });
    let page = url.as_deref().and_then(|url| Url::parse(url).ok()).unwrap_or_else(|| base.clone());
    let title = entry.title.as_ref().map(|title| sanitise::text_of(&title.content)).filter(|title| !title.is_empty());
    let body = entry
        .content
        .as_ref()
        .and_then(|content| content.body.clone())
        .or_else(|| entry.summary.as_ref().map(summary_html))
        .filter(|body| !body.trim().is_empty());
    let html = body.map(|body| sanitise::sanitise(&body, Some(&page))).filter(|html| !html.trim().is_empty());
    let body_text = html.as_deref().map(sanitise::plain_text).unwrap_or_default();
    let mut text = match (&title, body_text.is_empty()) {
        (Some(title), false) if !body_text.starts_with(title.as_str()) => format!("{title}\n\n{body_text}"),
        (Some(title), true) => title.clone(),
        _ => body_text,
    };
    if let Some((cut, _)) = text.char_indices().nth(MAX_TEXT_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    let media = entry_media(&entry, &base, html.as_deref());
    let author = entry.authors.iter().find_map(|person| person.name.clone()).map(|name| sanitise::text_of(&name));
    let mut hasher = Sha256::new();
    hasher.update(title.as_deref().unwrap_or_default());
    hasher.update([0]);
    hasher.update(&text);
    for item in &media {
        hasher.update([0]);
        hasher.update(&item.url);
    }
    let content_hash = format!("{:x}", hasher.finalize());
    let remote_id = match entry.id.trim() {
        "" => url.clone().unwrap_or_else(|| format!("hash:{content_hash}")),
        id => id.chars().take(1000).collect(),
    };
    FeedEntry {
        remote_id,
        url,
        title,
        html,
        text,
        author: author.filter(|name| !name.is_empty()),
        published_ms: entry.published.or(entry.updated).map(|time| time.timestamp_millis()),
        updated_ms: entry.updated.map(|time| time.timestamp_millis()),
        media,
        content_hash,
    }
}

/// A summary as HTML. Feeds mark their summaries as text or HTML unreliably (RSS has no way
/// to say, and many escape their HTML once more), so a summary with markup in it is read as
/// HTML, as feedparser does; it is sanitised either way.
fn summary_html(summary: &feed_rs::model::Text) -> String {
    let content = &summary.content;
    if summary.content_type.to_string().contains("html") || has_markup(content) {
        content.clone()
    } else {
        content.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    }
}

/// Whether text holds an HTML tag (`<p>`, `</q>`, `<br/>`), not just a `<` in prose.
fn has_markup(text: &str) -> bool {
    text.match_indices('<').any(|(at, _)| {
        let rest = text[at + 1..].trim_start_matches('/');
        rest.chars().next().is_some_and(|first| first.is_ascii_alphabetic())
            && rest
                .find('>')
                .is_some_and(|end| rest[..end].chars().all(|c| c.is_ascii_alphanumeric() || " =\"'-/".contains(c)))
    })
}

/// Enclosures and Media RSS items first, then images in the HTML, each URL once.
fn entry_media(entry: &feed_rs::model::Entry, base: &Url, html: Option<&str>) -> Vec<RemoteMedia> {
    let mut media: Vec<RemoteMedia> = Vec::new();
    let mut add = |url: Option<String>, mime: &str, size: Option<u64>, alt: Option<String>| {
        let Some(url) = url else { return };
        let kind = match media_kind(mime, &url) {
            Some(kind) => kind,
            None => return,
        };
        if media.len() < MAX_MEDIA_PER_ENTRY && !media.iter().any(|known| known.url == url) {
            media.push(RemoteMedia { url, kind, mime: mime.to_owned(), size_bytes: size, alt_text: alt });
        }
    };
    for object in &entry.media {
        let alt = object.description.as_ref().or(object.title.as_ref()).map(|text| sanitise::text_of(&text.content));
        for content in &object.content {
            let url = content.url.as_ref().and_then(|url| resolve(base, url.as_str()));
            let mime = content.content_type.as_ref().map(|mime| mime.to_string()).unwrap_or_default();
            add(url, &mime, content.size, alt.clone());
        }
        if object.content.is_empty() {
            if let Some(thumbnail) = object.thumbnails.first() {
                add(resolve(base, &thumbnail.image.uri), "image/*", None, alt.clone());
            }
        }
    }
    for link in entry.links.iter().filter(|link| link.rel.as_deref() == Some("enclosure")) {
        add(resolve(base, &link.href), link.media_type.as_deref().unwrap_or_default(), link.length, link.title.clone());
    }
    for (src, alt) in html.map(image_sources).unwrap_or_default() {
        add(Some(src), "image/*", None, alt);
    }
    media
}

/// Image or audio, by the declared type, else by the file name; `None` for anything else.
fn media_kind(mime: &str, url: &str) -> Option<MediaKind> {
    let mime = mime.to_ascii_lowercase();
    if mime.starts_with("image/") {
        return Some(MediaKind::Image);
    }
    if mime.starts_with("audio/") {
        return Some(MediaKind::Audio);
    }
    if !mime.is_empty() && mime != "application/octet-stream" {
        return None;
    }
    let path = Url::parse(url).map(|url| url.path().to_ascii_lowercase()).unwrap_or_default();
    let extension = path.rsplit('.').next().unwrap_or_default();
    match extension {
        "jpg" | "jpeg" | "png" | "gif" | "webp" => Some(MediaKind::Image),
        "mp3" | "m4a" | "aac" | "ogg" | "oga" | "flac" | "wav" => Some(MediaKind::Audio),
        _ => None,
    }
}

/// `(src, alt)` of each `<img>` in sanitised HTML (whose attributes are double-quoted).
pub fn image_sources(html: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for tag in html.split("<img ").skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let attribute = |name: &str| {
            let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
            let end = tag[start..].find('"')? + start;
            Some(sanitise::plain_text(&tag[start..end]))
        };
        if let Some(src) = attribute("src") {
            found.push((src, attribute("alt").filter(|alt| !alt.is_empty())));
        }
    }
    found
}

fn resolve(base: &Url, href: &str) -> Option<String> {
    let url = base.join(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// The feeds a web page advertises (`<link rel="alternate" type="application/rss+xml" …>`,
/// Atom and JSON Feed too), resolved against the page's address, in page order.
pub fn discover(page: &[u8], page_url: &Url) -> Vec<Url> {
    let text = String::from_utf8_lossy(page);
    let lower = text.to_ascii_lowercase();
    // Only the head matters; a page's body may quote markup.
    let end = lower.find("</head").unwrap_or(lower.len());
    let mut base = page_url.clone();
    if let Some(start) = lower[..end].find("<base ") {
        let tag = &text[start..start + lower[start..end].find('>').unwrap_or(0)];
        if let Some(href) = attribute_of(tag, "href") {
            if let Ok(url) = page_url.join(&href) {
                base = url;
            }
        }
    }
    let mut feeds: Vec<Url> = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..end].find("<link").map(|offset| offset + at) {
        let close = lower[start..end].find('>').map_or(end, |offset| offset + start);
        let tag = &text[start..close];
        at = close.max(start + 5);
        let rel = attribute_of(tag, "rel").unwrap_or_default().to_ascii_lowercase();
        let kind = attribute_of(tag, "type").unwrap_or_default().to_ascii_lowercase();
        let is_feed_type = ["application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"]
            .contains(&kind.split(';').next().unwrap_or_default().trim());
        if !rel.split_whitespace().any(|word| word == "alternate") || !is_feed_type {
            continue;
        }
        let href = attribute_of(tag, "href").filter(|href| !href.is_empty());
        if let Some(url) = href.and_then(|href| base.join(&href).ok()) {
            if matches!(url.scheme(), "http" | "https") && !feeds.contains(&url) {
                feeds.push(url);
            }
        }
    }
    feeds
}

/// An attribute's value in one tag's text (quoted with " or ', or bare), entities decoded.
fn attribute_of(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut at = 0;
    while let Some(found) = lower[at..].find(name).map(|offset| offset + at) {
        at = found + name.len();
        let before_ok = found > 0 && lower.as_bytes()[found - 1].is_ascii_whitespace();
        let rest = lower[at..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let value = tag[value_start..].trim_start();
        let raw = match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or_default(),
            _ => value.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or_default(),
        };
        return Some(sanitise::plain_text(raw).trim().to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_with_markup_are_read_as_html_and_prose_with_angle_brackets_is_not() {
        assert!(has_markup("codename <q>bullseye</q>"));
        assert!(has_markup("line<br/>break"));
        assert!(!has_markup("if a < b and c > d"));
        assert!(!has_markup("5 <3 hearts"));
        let document = parse(
            br#"<rss version="2.0"><channel><title>T</title><item><guid>1</guid>
               <description>Debian 11 (codename &lt;q&gt;bullseye&lt;/q&gt;) and 1 &lt; 2</description></item></channel></rss>"#,
            &Url::parse("https://t.test/").unwrap(),
        )
        .unwrap();
        assert_eq!(document.entries[0].text, "Debian 11 (codename bullseye) and 1 < 2");
    }

    #[test]
    fn a_huge_entry_is_cut_to_size_in_its_text_and_keeps_its_id() {
        let words = "<p>".to_owned() + &"harbour ".repeat(200_000) + "</p>";
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>Big</title><item><guid>big-1</guid><title>Long read</title>\
             <description><![CDATA[{words}]]></description></item></channel></rss>"
        );
        let document = parse(xml.as_bytes(), &Url::parse("https://big.test/feed").unwrap()).unwrap();
        let entry = &document.entries[0];
        assert_eq!(entry.remote_id, "big-1");
        assert!(entry.text.chars().count() <= MAX_TEXT_CHARS + 1, "{} characters", entry.text.chars().count());
        assert!(entry.text.ends_with('…'));
    }

    #[test]
    fn more_entries_than_kept_leave_the_newest() {
        let items: String = (0..MAX_ENTRIES + 20)
            .map(|index| {
                format!(
                    "<item><guid>{index}</guid><title>Item {index}</title><pubDate>{}</pubDate></item>",
                    time::OffsetDateTime::from_unix_timestamp(1_700_000_000 + i64::try_from(index).unwrap_or(0) * 60)
                        .unwrap()
                        .format(&time::format_description::well_known::Rfc2822)
                        .unwrap()
                )
            })
            .collect();
        let xml = format!("<rss version=\"2.0\"><channel><title>Many</title>{items}</channel></rss>");
        let document = parse(xml.as_bytes(), &Url::parse("https://many.test/feed").unwrap()).unwrap();
        assert_eq!(document.entries.len(), MAX_ENTRIES);
        assert_eq!(document.entries[0].remote_id, (MAX_ENTRIES + 19).to_string(), "newest first");
    }
}
