//! Remote HTML made safe before it is stored: an allowlist of tags and attributes (ammonia),
//! links only to http(s) and mailto and opened without a referrer or an opener, no scripts,
//! no event handlers, no styles (so no remote CSS), no frames or forms; relative links and
//! image sources resolved against the entry's address. Also the plain text of that HTML, for
//! search, tagging and the ranker.

use std::collections::{HashMap, HashSet};

use url::Url;

/// Tags a feed entry may keep; everything else is dropped (its text kept).
const TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

/// Tags dropped together with everything inside them.
const DROPPED_WHOLE: &[&str] =
    &["script", "style", "iframe", "object", "embed", "form", "svg", "math", "template", "noscript"];

/// Tags that end a line in the plain text.
const BLOCKS: &[&str] = &[
    "p",
    "br",
    "li",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "figure",
    "figcaption",
    "hr",
    "div",
];

/// The sanitised HTML of `html`, with relative URLs resolved against `base`.
pub fn sanitise(html: &str, base: Option<&Url>) -> String {
    let tags: HashSet<&str> = TAGS.iter().copied().collect();
    let attributes: HashMap<&str, HashSet<&str>> = [
        ("a", ["href", "title"].into_iter().collect()),
        ("abbr", ["title"].into_iter().collect()),
        ("img", ["src", "alt", "title", "width", "height"].into_iter().collect()),
        ("td", ["colspan", "rowspan"].into_iter().collect()),
        ("th", ["colspan", "rowspan", "scope"].into_iter().collect()),
    ]
    .into_iter()
    .collect();
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .clean_content_tags(DROPPED_WHOLE.iter().copied().collect())
        .tag_attributes(attributes)
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .strip_comments(true);
    match base {
        Some(base) => builder.url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone())),
        None => builder.url_relative(ammonia::UrlRelative::Deny),
    };
    // An image may only come from http(s): the backend fetches it, the webview never does.
    builder.attribute_filter(|element, attribute, value| match (element, attribute) {
        ("img", "src") if has_scheme(value) && !(value.starts_with("https://") || value.starts_with("http://")) => None,
        _ => Some(value.into()),
    });
    builder.clean(html).to_string()
}

/// Whether a URL names its scheme (`data:`, `https:`), rather than being relative.
fn has_scheme(url: &str) -> bool {
    let end = url.find(['/', '?', '#']).unwrap_or(url.len());
    url[..end].contains(':')
}

/// The text of sanitised HTML (as `sanitise` writes it): tags gone, block ends as line
/// breaks, entities decoded, runs of blank space folded.
pub fn plain_text(sanitised: &str) -> String {
    let mut text = String::with_capacity(sanitised.len());
    let mut rest = sanitised;
    while let Some(open) = rest.find('<') {
        push_decoded(&mut text, &rest[..open]);
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open + 1..open + close];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        let closing = tag.starts_with('/') || name == "br" || name == "hr";
        if BLOCKS.contains(&name.as_str()) {
            // A block ends its line; one that opens mid-line starts a new one.
            if closing || !text.ends_with('\n') {
                text.push('\n');
            }
        } else if name == "td" || name == "th" || name == "img" {
            text.push(' ');
        }
        rest = &rest[open + close + 1..];
    }
    if !rest.contains('<') {
        push_decoded(&mut text, rest);
    }
    tidy(&text)
}

/// Folds spaces within lines and drops blank lines.
pub fn tidy(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Appends `escaped` (text as the HTML serialiser writes it) with its entities decoded.
fn push_decoded(out: &mut String, escaped: &str) {
    let mut rest = escaped;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let entity = after.find(';').filter(|end| *end <= 10).map(|end| &after[..=end]);
        let decoded = entity.and_then(|entity| match entity {
            "&amp;" => Some('&'),
            "&lt;" => Some('<'),
            "&gt;" => Some('>'),
            "&quot;" => Some('"'),
            "&nbsp;" => Some(' '),
            "&#39;" | "&apos;" => Some('\''),
            numeric if numeric.starts_with("&#x") || numeric.starts_with("&#X") => {
                u32::from_str_radix(&numeric[3..numeric.len() - 1], 16).ok().and_then(char::from_u32)
            }
            numeric if numeric.starts_with("&#") => numeric[2..numeric.len() - 1].parse().ok().and_then(char::from_u32),
            _ => None,
        });
        match (entity, decoded) {
            (Some(entity), Some(character)) => {
                out.push(character);
                rest = &after[entity.len()..];
            }
            _ => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
}

/// Text that may hold markup (a feed title, say) as plain text: markup dropped, entities decoded.
pub fn text_of(maybe_html: &str) -> String {
    plain_text(&sanitise(maybe_html, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://blog.example/posts/1").unwrap()
    }

    #[test]
    fn scripts_handlers_and_dangerous_urls_are_removed() {
        let dirty = r#"<p onclick="alert(1)">Hi <script>alert(2)</script><img src=x onerror=alert(3)>
            <a href="javascript:alert(4)">a</a> <a href="JaVaScRiPt:alert(5)">b</a>
            <a href="java&#x09;script:alert(6)">c</a><iframe src="https://evil.example"></iframe>
            <svg onload=alert(7)><circle/></svg><style>body{background:url(https://evil.example/x)}</style>
            <span style="background:url(https://evil.example/y)">s</span><form action="https://evil.example"><input></form>
            <a href="data:text/html,<script>alert(8)</script>">d</a><img src="data:image/png;base64,AAAA"></p>"#;
        let clean = sanitise(dirty, Some(&base()));
        for bad in
            ["script", "onclick", "onerror", "onload", "javascript", "iframe", "svg", "style", "form", "data:", "evil"]
        {
            assert!(!clean.to_ascii_lowercase().contains(bad), "{bad} survived: {clean}");
        }
        assert!(clean.contains("Hi"), "{clean}");
    }

    #[test]
    fn links_open_safely_and_relative_urls_resolve_against_the_entry() {
        let clean = sanitise(r#"<a href="/about">About</a> <img src="pics/cat.jpg" alt="A cat">"#, Some(&base()));
        assert!(clean.contains(r#"href="https://blog.example/about""#), "{clean}");
        assert!(clean.contains(r#"rel="noopener noreferrer nofollow""#), "{clean}");
        assert!(clean.contains(r#"target="_blank""#), "{clean}");
        assert!(clean.contains(r#"src="https://blog.example/posts/pics/cat.jpg""#), "{clean}");
        assert!(clean.contains(r#"alt="A cat""#), "{clean}");
    }

    #[test]
    fn plain_text_keeps_words_and_line_breaks() {
        let clean =
            sanitise("<h2>Title</h2><p>One &amp; two&nbsp;three</p><ul><li>a</li><li>b &lt;c&gt;</li></ul>", None);
        assert_eq!(plain_text(&clean), "Title\nOne & two three\na\nb <c>");
        assert_eq!(text_of("Caf&eacute; <b>cr&egrave;me</b> &#x2603; &#9731;"), "Café crème ☃ ☃");
    }
}
