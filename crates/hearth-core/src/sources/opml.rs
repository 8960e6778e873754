//! OPML subscription lists, in and out. Import reads every outline with an `xmlUrl` (at any
//! depth); the folders around a feed become its tags, outermost first. Export writes each
//! source inside the folders its tags name, so a list round-trips.

use quick_xml::events::{BytesStart, Event};
use url::Url;

use crate::error::{Error, Result};

/// Outlines read from one file, at most: a larger list is refused, not cut short.
const MAX_OUTLINES: usize = 10_000;
/// How deep folders may nest.
const MAX_DEPTH: usize = 32;

/// One feed in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    pub url: String,
    pub title: Option<String>,
    /// The folders it sits in, outermost first (without repeats).
    pub tags: Vec<String>,
}

/// A source, as export writes it.
#[derive(Debug, Clone)]
pub struct OpmlSource<'a> {
    pub url: &'a str,
    pub title: &'a str,
    pub site_url: Option<&'a str>,
    pub tags: &'a [String],
}

/// The feeds in an OPML document, each URL once (a feed filed in two folders gets both
/// folders' tags).
pub fn parse(text: &str) -> Result<Vec<OpmlFeed>> {
    let invalid = |why: String| Error::invalid(format!("this is not a valid OPML file: {why}"));
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut feeds: Vec<OpmlFeed> = Vec::new();
    // The open outlines: each one's folder name, if it is a folder.
    let mut open: Vec<Option<String>> = Vec::new();
    let mut seen_root = false;
    let mut outlines = 0;
    loop {
        let event =
            reader.read_event().map_err(|error| invalid(format!("{error} (at byte {})", reader.error_position())))?;
        match event {
            Event::Start(ref tag) | Event::Empty(ref tag) => {
                let name = tag.local_name();
                if name.as_ref() == "opml" {
                    seen_root = true;
                }
                if name.as_ref() != "outline" {
                    continue;
                }
                outlines += 1;
                if outlines > MAX_OUTLINES {
                    return Err(invalid(format!("it has more than {MAX_OUTLINES} outlines")));
                }
                let outline = Outline::read(tag)?;
                let folder = if let Some(url) = outline.feed_url() {
                    let tags: Vec<String> = open.iter().flatten().cloned().collect();
                    match feeds.iter_mut().find(|feed| feed.url == url) {
                        Some(known) => {
                            for tag in tags {
                                if !known.tags.contains(&tag) {
                                    known.tags.push(tag);
                                }
                            }
                        }
                        None => feeds.push(OpmlFeed { url, title: outline.title(), tags }),
                    }
                    None
                } else {
                    outline.title().filter(|_| outline.is_folder())
                };
                if matches!(event, Event::Start(_)) {
                    if open.len() >= MAX_DEPTH {
                        return Err(invalid(format!("its folders nest more than {MAX_DEPTH} deep")));
                    }
                    open.push(folder);
                }
            }
            Event::End(ref tag) if tag.local_name().as_ref() == "outline" => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(invalid("it has no <opml> element".into()));
    }
    Ok(feeds)
}

struct Outline {
    text: Option<String>,
    title: Option<String>,
    kind: Option<String>,
    xml_url: Option<String>,
}

impl Outline {
    fn read(tag: &BytesStart<'_>) -> Result<Self> {
        let mut outline = Self { text: None, title: None, kind: None, xml_url: None };
        for attribute in tag.attributes().with_checks(false) {
            let attribute =
                attribute.map_err(|error| Error::invalid(format!("this is not a valid OPML file: {error}")))?;
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|error| Error::invalid(format!("this is not a valid OPML file: {error}")))?
                .trim()
                .to_owned();
            match attribute.key.local_name().as_ref().to_ascii_lowercase().as_str() {
                "text" => outline.text = Some(value),
                "title" => outline.title = Some(value),
                "type" => outline.kind = Some(value.to_ascii_lowercase()),
                "xmlurl" => outline.xml_url = Some(value),
                _ => {}
            }
        }
        Ok(outline)
    }

    /// The feed's address, if this outline is a feed (http or https only).
    fn feed_url(&self) -> Option<String> {
        if self.kind.as_deref().is_some_and(|kind| !matches!(kind, "rss" | "atom" | "feed" | "json")) {
            return None;
        }
        let url = Url::parse(self.xml_url.as_deref()?).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| url.to_string())
    }

    fn is_folder(&self) -> bool {
        self.kind.is_none() && self.xml_url.is_none()
    }

    fn title(&self) -> Option<String> {
        self.text.clone().or_else(|| self.title.clone()).filter(|title| !title.is_empty())
    }
}

/// An OPML 2.0 document listing `sources`, each inside the folders its tags name.
pub fn export(sources: &[OpmlSource<'_>], created: &str) -> String {
    use quick_xml::escape::escape;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n");
    out.push_str(&format!(
        "    <title>Hearth subscriptions</title>\n    <dateCreated>{}</dateCreated>\n",
        escape(created)
    ));
    out.push_str("  </head>\n  <body>\n");
    // Sources sorted by their folder path, so each folder opens once.
    let mut sorted: Vec<&OpmlSource<'_>> = sources.iter().collect();
    sorted.sort_by(|a, b| a.tags.cmp(b.tags).then_with(|| a.title.to_lowercase().cmp(&b.title.to_lowercase())));
    let mut open: Vec<&str> = Vec::new();
    for source in sorted {
        let common = open.iter().zip(source.tags.iter()).take_while(|(a, b)| **a == b.as_str()).count();
        while open.len() > common {
            open.pop();
            out.push_str(&format!("{}</outline>\n", "  ".repeat(open.len() + 2)));
        }
        for tag in &source.tags[common..] {
            out.push_str(&format!("{}<outline text=\"{}\">\n", "  ".repeat(open.len() + 2), escape(tag.as_str())));
            open.push(tag);
        }
        out.push_str(&format!(
            "{}<outline type=\"rss\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{}\"{} />\n",
            "  ".repeat(open.len() + 2),
            escape(source.url),
            source.site_url.map(|site| format!(" htmlUrl=\"{}\"", escape(site))).unwrap_or_default(),
            title = escape(source.title),
        ));
    }
    while !open.is_empty() {
        open.pop();
        out.push_str(&format!("{}</outline>\n", "  ".repeat(open.len() + 2)));
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_list_reads_back_the_same() {
        let tech = vec!["Tech".to_owned(), "Rust".to_owned()];
        let none: Vec<String> = Vec::new();
        let news = vec!["News & views".to_owned()];
        let sources = [
            OpmlSource {
                url: "https://a.example/feed?x=1&y=2",
                title: "A <feed>",
                site_url: Some("https://a.example/"),
                tags: &tech,
            },
            OpmlSource { url: "https://b.example/rss", title: "B", site_url: None, tags: &none },
            OpmlSource { url: "https://c.example/atom", title: "C \"quoted\"", site_url: None, tags: &news },
        ];
        let text = export(&sources, "Mon, 23 Nov 2026 05:00:00 GMT");
        let feeds = parse(&text).unwrap();
        assert_eq!(feeds.len(), 3, "{text}");
        let a = feeds.iter().find(|feed| feed.url == "https://a.example/feed?x=1&y=2").unwrap();
        assert_eq!((a.title.as_deref(), a.tags.clone()), (Some("A <feed>"), tech.clone()));
        let c = feeds.iter().find(|feed| feed.url == "https://c.example/atom").unwrap();
        assert_eq!((c.title.as_deref(), c.tags.clone()), (Some("C \"quoted\""), news.clone()));
        assert!(feeds.iter().any(|feed| feed.url == "https://b.example/rss" && feed.tags.is_empty()));
    }

    #[test]
    fn what_is_not_opml_is_refused_plainly() {
        for bad in ["", "just text", "<html><body>hi</body></html>", "<opml><body><outline text=\"x\"></body></opml>"] {
            let error = parse(bad).unwrap_err();
            assert!(error.to_string().contains("not a valid OPML file"), "{bad}: {error}");
        }
    }
}
