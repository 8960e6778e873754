//! Feed documents as they are published: real RSS 0.9x/1.0/2.0, Atom and JSON Feed samples
//! (tests/fixtures/feeds, with their sources), read by `sources::feed` and checked against
//! the counts, titles and links Python's feedparser finds in the same files
//! (`reference.tsv`); damaged and hostile ones refused plainly or read safely; pages that
//! advertise a feed; OPML lists.

use std::path::PathBuf;

use hearth_core::post::MediaKind;
use hearth_core::sources::{feed, opml};
use hearth_core::ErrorCode;
use url::Url;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds")
}

/// `reference.tsv`: file, format, entries, first title, first link, bozo, well-formed, parser.
fn reference() -> Vec<Vec<String>> {
    std::fs::read_to_string(fixtures().join("reference.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect()
}

fn address(file: &str) -> Url {
    Url::parse(&format!("https://feeds.test/{file}")).unwrap()
}

fn read(file: &str) -> hearth_core::Result<feed::FeedDocument> {
    feed::parse(&std::fs::read(fixtures().join(file)).unwrap(), &address(file))
}

/// Documents feedparser reads in part (it recovers from broken XML); Hearth refuses them whole.
const REFUSED: [&str; 3] = [
    "malformed/ours_bad_entities_unclosed.xml",
    "malformed/ours_truncated_w3_blog.xml",
    "malformed/rss_incomplete_cdata.xml",
];
/// Atom 0.3 (2003, superseded by Atom 1.0 in 2005) is not read.
const ATOM_03: &str = "malformed/entry_content_crazy.xml";

#[test]
fn published_feeds_read_as_feedparser_reads_them() {
    let mut checked = 0;
    for row in reference() {
        let (file, format) = (row[0].as_str(), row[1].as_str());
        if matches!(format, "html" | "opml") || REFUSED.contains(&file) || file == ATOM_03 {
            continue;
        }
        let document = read(file).unwrap_or_else(|error| panic!("{file}: {error}"));
        let expected: usize = row[2].parse().unwrap();
        assert_eq!(document.entries.len(), expected, "{file}: entries");
        if !row[3].is_empty() && !file.contains("xss") {
            assert!(
                document.entries.iter().any(|entry| entry.title.as_deref() == Some(row[3].as_str())),
                "{file}: no entry titled {:?}",
                row[3]
            );
        }
        if row[4].starts_with("http") {
            assert!(
                document.entries.iter().any(|entry| entry.url.as_deref() == Some(row[4].as_str())),
                "{file}: no entry links to {:?}: {:?}",
                row[4],
                document.entries.iter().map(|entry| &entry.url).collect::<Vec<_>>()
            );
        }
        for entry in &document.entries {
            assert!(!entry.remote_id.is_empty(), "{file}: every entry has an id");
            assert!(!entry.content_hash.is_empty());
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} feeds checked");
}

#[test]
fn broken_documents_are_refused_with_a_plain_error() {
    for file in REFUSED.iter().chain(["rss2/../html/ours_autodiscovery_relative.html"].iter()) {
        let error = read(file).unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidInput, "{file}: {error}");
        assert!(error.to_string().contains("feeds.test"), "the error names the address: {error}");
    }
    let error = feed::parse(b"\x00\x01 not a feed", &address("x")).unwrap_err();
    assert!(error.to_string().contains("not an RSS, Atom or JSON feed"), "{error}");
}

#[test]
fn entity_attacks_are_not_expanded() {
    let started = std::time::Instant::now();
    let laughs = read("malformed/ours_billion_laughs.xml").unwrap();
    assert!(started.elapsed().as_secs() < 2, "the billion laughs took {:?}", started.elapsed());
    let entry = &laughs.entries[0];
    assert!(entry.text.len() < 10_000, "an entity expanded: {} bytes", entry.text.len());
    assert!(!entry.text.contains("lollol"), "{}", entry.text);

    let xxe = read("malformed/ours_xxe_external_entity.xml").unwrap();
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    for entry in &xxe.entries {
        assert!(
            hostname.trim().is_empty() || !entry.text.contains(hostname.trim()),
            "a local file leaked: {}",
            entry.text
        );
        assert!(!entry.text.contains("root:"), "{}", entry.text);
    }
}

#[test]
fn hostile_markup_in_entries_is_made_harmless() {
    // Markup, not words: the payloads' own descriptions may say "javascript:".
    let dangerous = regex::Regex::new(
        r#"<(script|iframe|svg|style|form|object|embed|meta|link|base)\b|\son[a-z]+\s*=|(href|src|action|poster)\s*=\s*"\s*(javascript|vbscript|data):|style\s*="#,
    )
    .unwrap();
    for file in
        ["malformed/ours_xss_payloads.xml", "malformed/ours_xss_payloads_atom.xml", "malformed/ours_xss_payloads.json"]
    {
        let document = read(file).unwrap();
        assert!(!document.entries.is_empty(), "{file}");
        for entry in &document.entries {
            let html = entry.html.as_deref().unwrap_or_default().to_ascii_lowercase();
            assert!(!dangerous.is_match(&html), "{file}: {:?} survived in {html}", dangerous.find(&html));
            if let Some(url) = &entry.url {
                assert!(url.starts_with("http://") || url.starts_with("https://"), "{file}: link {url}");
            }
            for media in &entry.media {
                assert!(media.url.starts_with("http"), "{file}: media {}", media.url);
            }
            let title = entry.title.as_deref().unwrap_or_default();
            assert!(!title.contains('<') || !title.to_ascii_lowercase().contains("<script"), "{file}: title {title}");
        }
    }
}

#[test]
fn declared_encodings_are_honoured() {
    let latin1 = read("malformed/rss_2.0_encoding_1.xml").unwrap();
    assert_eq!(latin1.entries[0].title.as_deref(), Some("Revolução nas telas com pontos quânticos impressos em 3D"));
}

#[test]
fn enclosures_become_media_and_relative_links_resolve() {
    let podcast = read("rss2/rss_2.0_nightvale.xml").unwrap();
    let audio: Vec<_> = podcast.entries[0].media.iter().filter(|media| media.kind == MediaKind::Audio).collect();
    assert_eq!(audio.len(), 1, "{:?}", podcast.entries[0].media);
    assert!(audio[0].url.starts_with("https://") && audio[0].mime.starts_with("audio/"), "{:?}", audio[0]);

    let relative = read("rss2/rss_2.0_relurl_2.xml").unwrap();
    for media in &relative.entries[0].media {
        assert!(Url::parse(&media.url).is_ok(), "{}", media.url);
    }
    let xml_base = read("atom/atom_xml_base.xml").unwrap();
    let html = xml_base.entries[0].html.as_deref().unwrap();
    for (src, _) in feed::image_sources(html) {
        assert!(src.starts_with("https://numi.st/"), "an image resolved against xml:base: {src}");
    }
}

#[test]
fn pages_that_advertise_a_feed_lead_to_it() {
    for row in reference().iter().filter(|row| row[1] == "html") {
        let page = std::fs::read(fixtures().join(&row[0])).unwrap();
        let found = feed::discover(&page, &Url::parse("https://site.test/blog/").unwrap());
        assert_eq!(found.len(), row[2].parse::<usize>().unwrap(), "{}: {found:?}", row[0]);
        if let Some(first) = found.first() {
            let expected = &row[4];
            let path = Url::parse(expected).map(|url| url.path().to_owned()).unwrap_or_default();
            assert!(first.as_str() == expected || first.path() == path, "{}: {first} vs {expected}", row[0]);
        }
    }
}

#[test]
fn opml_lists_are_read_with_their_folders_as_tags() {
    let spec = opml::parse(&std::fs::read_to_string(fixtures().join("opml/subscriptionList.opml")).unwrap()).unwrap();
    assert_eq!(spec.len(), 13);
    assert_eq!(spec[0].title.as_deref(), Some("CNET News.com"));

    let nested =
        opml::parse(&std::fs::read_to_string(fixtures().join("opml/ours_nested_folders.opml")).unwrap()).unwrap();
    assert_eq!(nested.len(), 6, "{nested:?}");
    let by_url = |url: &str| nested.iter().find(|feed| feed.url == url).unwrap();
    assert_eq!(by_url("https://this-week-in-rust.org/rss.xml").tags, ["Tech", "Rust"]);
    assert_eq!(by_url("https://lwn.net/headlines/rss").tags, ["Tech", "News"], "filed twice: both folders");
    assert!(by_url("https://blog.example.org/feed/").tags.is_empty());
    assert_eq!(by_url("https://notes.example.net/index.xml").title.as_deref(), Some("Title only"));

    let error =
        opml::parse(&std::fs::read_to_string(fixtures().join("opml/ours_malformed.opml")).unwrap()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidInput, "{error}");
}
