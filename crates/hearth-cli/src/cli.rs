//! The CLI: argument parsing and one small function per command, each calling `App`.
//! `--json` prints machine-readable output (one JSON object per line for lists); errors are one
//! line on stderr (`{code, message}` with `--json`) and a non-zero exit.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use clap::{Parser, Subcommand, ValueEnum};
use hearth_core::post::Attachment;
use hearth_core::{
    App, Config, ErrorBody, ErrorCode, FeedMode, FeedQuery, InteractionInput, InteractionKind, NewPost, Post,
};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(name = "hearth", version, about = "Hearth: a calm social feed whose intelligence runs on your own machine")]
pub struct Cli {
    /// Where Hearth keeps its database and media [default: $HEARTH_DATA_DIR, else ~/.local/share/hearth]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print machine-readable JSON (one object per line for lists)
    #[arg(long, global = true)]
    pub json: bool,
    /// Where models run [default: `device` in <data dir>/config.toml, else auto]
    #[arg(long, global = true, value_parser = ["auto", "cpu", "cuda", "metal"])]
    pub device: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import the demo feed (safe to run again: nothing is imported twice)
    Demo,
    /// Show the feed, best first (ranked) or newest first (chronological)
    Feed {
        #[arg(long, value_enum, default_value_t = ModeArg::Ranked)]
        mode: ModeArg,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=100))]
        limit: i64,
        /// Continue after this cursor (printed by the previous page)
        #[arg(long)]
        cursor: Option<String>,
        /// Calm mode: leave out posts tagged negative
        #[arg(long)]
        calm: bool,
    },
    /// Show one post
    Show { id: i64 },
    /// Like a post
    Like { id: i64 },
    /// Remove your like from a post
    Unlike { id: i64 },
    /// Hide a post from your feed
    Hide { id: i64 },
    /// See less like this post
    ShowLess { id: i64 },
    /// Mute the author of a post
    MuteAuthor { id: i64 },
    /// Mute a word or phrase everywhere
    MuteWord { word: String },
    /// Write a local post, with optional images and audio
    Post {
        text: String,
        /// An image to attach (up to 4)
        #[arg(long = "image", value_name = "FILE")]
        images: Vec<PathBuf>,
        /// Alt text for the images, in the same order
        #[arg(long = "alt", value_name = "TEXT")]
        alt_texts: Vec<String>,
        /// An audio file to attach
        #[arg(long, value_name = "FILE")]
        audio: Option<PathBuf>,
        /// Also post it to this account (see `hearth account list`)
        #[arg(long, value_name = "ID")]
        account: Option<i64>,
        /// Reply to this post (through the account it came from)
        #[arg(long, value_name = "POST_ID")]
        reply_to: Option<i64>,
    },
    /// A post's thread from its account's server: what it replies to, then the replies
    Thread { id: i64 },
    /// Boost a post from an account (it goes to the server too)
    Boost { id: i64 },
    /// Undo a boost
    Unboost { id: i64 },
    /// Full-text search over everything in your feed
    Search {
        query: String,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=100))]
        limit: i64,
        /// Only posts tagged with this tone
        #[arg(long, value_parser = ["positive", "neutral", "negative"])]
        tone: Option<String>,
    },
    /// What happened today: the last day's posts in topics, the ones you care about first
    Digest,
    /// Where your data is and how much there is
    Status,
    /// Evaluate the ranker offline: leave-one-out HR@K and NDCG@K on a rating log next to
    /// popularity and random (one JSON object per method), and/or synthetic users
    EvalRanking {
        /// Ratings, CSV with the header `user,item,rating,timestamp`
        #[arg(long, value_name = "FILE", requires = "items", required_unless_present = "synthetic")]
        interactions: Option<PathBuf>,
        /// Item texts, CSV with the header `item,text`
        #[arg(long, value_name = "FILE", requires = "interactions")]
        items: Option<PathBuf>,
        /// The cut-off K of HR@K and NDCG@K
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
        k: u16,
        /// Items each held-out item is ranked among (never rated by that user)
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=10_000))]
        negatives: u16,
        #[arg(long, default_value_t = 20_261_122)]
        seed: u64,
        /// Run the synthetic-user simulation (NDCG@K by number of interactions)
        #[arg(long)]
        synthetic: bool,
        /// Set each user's last interaction aside unseen and hold out the one before it: the
        /// split to tune on, so the reported (last-interaction) figures stay untouched
        #[arg(long, requires = "interactions")]
        validation: bool,
    },
    /// Measure the ranker (used by `cargo xtask bench ranking`); works in a temporary folder
    #[command(hide = true)]
    BenchRanking {
        #[arg(long, default_value_t = 100_000)]
        posts: usize,
        /// The logged history, learned once before the timed pages (about 1.5 ms an interaction)
        #[arg(long, default_value_t = 100_000)]
        interactions: usize,
    },
    /// Forget what the ranker learned about you (your interaction history stays)
    ResetPersonalisation {
        /// Also delete the interaction history (likes and hides stay on the posts)
        #[arg(long)]
        forget_interactions: bool,
    },
    /// Check the database file for damage (exits non-zero if any is found)
    Check,
    /// Feed subscriptions: add, list, remove
    Source {
        #[command(subcommand)]
        action: SourceAction,
    },
    /// Fetch subscriptions now (all of them, or one): one JSON object per source
    Sync {
        /// Only this source
        #[arg(long, value_name = "ID")]
        source: Option<i64>,
    },
    /// Mastodon and Bluesky accounts: sign in, list, sign out
    Account {
        #[command(subcommand)]
        action: AccountAction,
    },
    /// Mentions, likes, boosts and follows from your accounts, newest first
    Notifications {
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=200))]
        limit: i64,
    },
    /// Subscription lists in OPML, to and from other feed readers
    Opml {
        #[command(subcommand)]
        action: OpmlAction,
    },
    /// List, fetch and verify the on-device models
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// Tone of text: one text per line in, {"text", "label", "score", "probabilities"} per line out
    Sentiment {
        /// Read texts from this file instead of standard input
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
    },
    /// Measure text-model throughput (used by `cargo xtask bench text`)
    #[command(hide = true)]
    BenchText {
        /// One text per line
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
    },
    /// Measure image classification (used by `cargo xtask bench images`)
    #[command(hide = true)]
    BenchImages {
        /// Image files, cycled through until `--images` have been classified
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(long, default_value_t = 64)]
        images: usize,
    },
    /// Benchmark speech transcription (used by `cargo xtask bench speech`): the files decoded
    /// and joined into one recording, written as 16 kHz WAV to `--wav` for the reference, then
    /// transcribed; prints the real-time factor as JSON
    #[command(hide = true)]
    BenchSpeech {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(long, value_name = "FILE")]
        wav: PathBuf,
    },
    /// Train the tone model (used by `cargo xtask train sentiment`)
    #[command(hide = true)]
    TrainSentiment {
        /// Folder with train.tsv, validation.tsv, test.tsv and test-SOURCE.tsv (label<TAB>text)
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Where to write sentiment.safetensors and metrics.json
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// More sets to score with the trained head ([category<TAB>]label<TAB>text); repeatable
        #[arg(long = "eval", value_name = "FILE")]
        evaluation_sets: Vec<PathBuf>,
        /// The set whose macro-F1 picks the epoch that is kept (default: DIR/validation.tsv)
        #[arg(long, value_name = "FILE")]
        select_on: Option<PathBuf>,
        /// The set whose accuracy picks how strongly the model corrects for the training data's
        /// tone shares ([category<TAB>]label<TAB>text; default: no correction)
        #[arg(long, value_name = "FILE")]
        adjust_on: Option<PathBuf>,
        /// Passes over the training data
        #[arg(long, default_value_t = hearth_core::models::sentiment::TrainingOptions::default().epochs)]
        epochs: usize,
        /// How many of the embedding model's top layers to fine-tune
        #[arg(long, default_value_t = hearth_core::models::sentiment::TrainingOptions::default().tuned_layers)]
        tuned_layers: usize,
    },
    /// Embed text with the on-device sentence model: one text per line in, one vector per line out
    Embed {
        /// Read texts from this file instead of standard input
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
    },
    /// Recognise what images show (EfficientNet-Lite0, ImageNet's 1,000 classes): one line per
    /// file, best label first; a file that cannot be read gets an error line, and the rest run
    Classify {
        /// Image files (JPEG, PNG, WebP, GIF)
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// How many labels per image
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
        top: u16,
    },
    /// Transcribe English speech (Whisper, on this device): one line per file with the text and
    /// its timed segments; a file that cannot be read gets an error line, and the rest run
    Transcribe {
        /// Audio files (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A)
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The speech model: whisper-tiny-en, whisper-base-en or whisper-small-en (default: the
        /// one chosen with `hearth models use-speech`, else whisper-tiny-en)
        #[arg(long)]
        model: Option<String>,
    },
    /// Serve the app to your browser on 127.0.0.1 (browser mode)
    Serve {
        /// Port to listen on (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The built web UI [default: ui/dist]
        #[arg(long, value_name = "DIR")]
        ui_dir: Option<PathBuf>,
    },
    /// Embed and tag every post that has not been yet (the background pipeline, in the foreground)
    Enrich,
}

#[derive(Debug, Subcommand)]
pub enum SourceAction {
    /// Subscribe to a feed, by its address or its website's
    Add { url: String },
    /// Every subscription with its state
    List,
    /// Unsubscribe; its posts go, except the ones you liked
    Remove {
        id: i64,
        /// Remove the liked posts too
        #[arg(long)]
        delete_liked: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountAction {
    /// Sign in to a network
    Add {
        #[command(subcommand)]
        network: AddAccount,
    },
    /// Every account with its state
    List,
    /// Sign out: the sign-in is revoked on the server and forgotten here; liked posts stay
    Remove { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum AddAccount {
    /// Sign in to a Mastodon server in your browser
    Mastodon {
        /// The server, such as mastodon.social
        server: String,
        /// Print the address to open instead of opening the browser
        #[arg(long)]
        no_browser: bool,
    },
    /// Sign in to Bluesky with an app password (made in Bluesky's settings)
    Bluesky {
        /// Your handle, such as alice.bsky.social
        handle: String,
        /// Read the app password from standard input (so it is not in your shell history)
        #[arg(long, required = true)]
        app_password_stdin: bool,
        /// Your server, if not bsky.social
        #[arg(long, value_name = "URL")]
        service: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OpmlAction {
    /// Subscribe to every feed in an OPML file (folders become tags)
    Import { file: PathBuf },
    /// Write every subscription as OPML to standard output
    Export,
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Every model, its size and whether it is installed
    List,
    /// Fetch a model (all models when no id is given), checking every file's sha256
    Fetch { id: Option<String> },
    /// Check installed files against their pinned sha256 (non-zero exit on a mismatch)
    Verify { id: Option<String> },
    /// Choose the speech model transcription uses (kept in config.toml)
    UseSpeech { id: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Ranked,
    Chronological,
}

/// Parses arguments, runs the command, prints any error, and picks the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let body = match error.downcast_ref::<hearth_core::Error>() {
                Some(core_error) => core_error.body(),
                None => ErrorBody::new(ErrorCode::Internal, format!("{error:#}")),
            };
            if json {
                eprintln!("{}", serde_json::to_string(&body).unwrap_or_default());
            } else {
                eprintln!("error: {}", body.message.replace('\n', " "));
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs one parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::resolve(cli.data_dir.as_deref())?.with_device_flag(cli.device.as_deref())?;
    let out = Output { json: cli.json };
    match cli.command {
        Command::Serve { port, ui_dir } => {
            let ui_dir = crate::serve::find_ui_dir(ui_dir.as_deref())?;
            let app = App::open_interactive(config)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(crate::serve::serve(app, port, ui_dir, |url| {
                println!("Hearth is running at {url}");
                println!("Press Ctrl-C to stop.");
                let _ = std::io::stdout().flush();
            }))
        }
        command => run_with_app(&App::open(config)?, command, &out),
    }
}

fn run_with_app(app: &App, command: Command, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Demo => {
            let result = app.import_demo()?;
            out.value(&result, || format!("Imported {} demo posts.", result.imported))
        }
        Command::Feed { mode, limit, cursor, calm } => {
            let mode = match mode {
                ModeArg::Ranked => FeedMode::Ranked,
                ModeArg::Chronological => FeedMode::Chronological,
            };
            let page = app.feed(&FeedQuery { mode, cursor, limit: Some(limit), calm, ..FeedQuery::default() })?;
            out.posts(&page.posts)?;
            if let (false, Some(cursor)) = (out.json, &page.next_cursor) {
                println!("(more: --cursor {cursor})");
            }
            Ok(())
        }
        Command::Show { id } => out.post(&app.get_post(id)?),
        Command::Like { id } => interact(app, out, id, InteractionKind::Like, "Liked"),
        Command::Unlike { id } => interact(app, out, id, InteractionKind::Unlike, "Unliked"),
        Command::Thread { id } => out.posts(&app.thread(id)?),
        Command::Boost { id } => interact(app, out, id, InteractionKind::Boost, "Boosted"),
        Command::Unboost { id } => interact(app, out, id, InteractionKind::Unboost, "Unboosted"),
        Command::Hide { id } => interact(app, out, id, InteractionKind::Hide, "Hidden"),
        Command::ShowLess { id } => interact(app, out, id, InteractionKind::ShowLess, "You'll see less like"),
        Command::MuteAuthor { id } => interact(app, out, id, InteractionKind::MuteAuthor, "Muted the author of"),
        Command::MuteWord { word } => {
            let input = InteractionInput {
                post_id: None,
                kind: InteractionKind::MuteWord,
                dwell_ms: None,
                value: Some(word.clone()),
            };
            app.record_interaction(&input)?;
            out.value(&serde_json::json!({ "muted_word": word }), || format!("Muted {word:?}."))
        }
        Command::Post { text, images, alt_texts, audio, account, reply_to } => {
            if alt_texts.len() > images.len() {
                anyhow::bail!("there are more --alt texts ({}) than --image files ({})", alt_texts.len(), images.len());
            }
            let images = images
                .iter()
                .enumerate()
                .map(|(index, path)| attachment(path, alt_texts.get(index).cloned()))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let audio = audio.as_deref().map(|path| attachment(path, None)).transpose()?;
            let post = app.create_post(&NewPost { text, images, audio, account_id: account, reply_to })?;
            out.post(&post)
        }
        Command::Search { query, limit, tone } => {
            let result = app.search(&query, Some(limit), tone.as_deref())?;
            if !out.json {
                println!("{} match{}", result.total, if result.total == 1 { "" } else { "es" });
            }
            out.posts(&result.posts)
        }
        Command::Status => {
            let status = app.status()?;
            out.value(&status, || {
                format!(
                    "Hearth {}\ndata: {}\n{} posts from {} authors, {} media, {} interactions\nranking learned from {} interactions{}",
                    status.version,
                    status.data_dir,
                    status.posts,
                    status.authors,
                    status.media,
                    status.interactions,
                    status.personalisation.interactions_learned,
                    if status.personalisation.interests.is_empty() {
                        String::new()
                    } else {
                        format!("; interests: {}", status.personalisation.interests.join(", "))
                    }
                )
            })
        }
        Command::EvalRanking { interactions, items, k, negatives, seed, synthetic, validation } => {
            crate::evaluation::eval_ranking(
                app,
                interactions
                    .as_deref()
                    .zip(items.as_deref())
                    .map(|(interactions, items)| crate::evaluation::RatingLog { interactions, items, validation }),
                usize::from(k),
                usize::from(negatives),
                seed,
                synthetic,
                out.json,
            )
        }
        Command::BenchRanking { posts, interactions } => {
            let dir = tempfile::tempdir()?;
            crate::evaluation::bench_ranking(dir.path(), posts, interactions)
        }
        Command::Digest => {
            let digest = app.digest()?;
            out.value(&digest, || {
                let mut text = format!(
                    "{} posts since {} in {} topics{}",
                    digest.posts,
                    digest.since,
                    digest.topics.len(),
                    if digest.not_yet_read > 0 {
                        format!(" ({} not yet read by the model)", digest.not_yet_read)
                    } else {
                        String::new()
                    }
                );
                for topic in &digest.topics {
                    text.push_str(&format!(
                        "\n\n{} ({} post{})",
                        topic.title,
                        topic.size,
                        if topic.size == 1 { "" } else { "s" }
                    ));
                    for post in &topic.posts {
                        let line: String = post.text.lines().next().unwrap_or("").chars().take(100).collect();
                        text.push_str(&format!("\n  #{} @{}: {line}", post.id, post.author.handle));
                    }
                }
                text
            })
        }
        Command::ResetPersonalisation { forget_interactions } => {
            app.reset_personalisation(forget_interactions)?;
            let status = app.status()?;
            out.value(&status.personalisation, || {
                if forget_interactions {
                    "Personalisation reset and the interaction history deleted; the feed starts fresh.".to_owned()
                } else {
                    format!(
                        "Personalisation reset; the feed starts fresh. Your {} logged interactions are kept.",
                        status.interactions
                    )
                }
            })
        }
        Command::Check => {
            let check = app.check()?;
            out.value(&check, || {
                if check.ok {
                    "The database is intact.".to_owned()
                } else {
                    format!("The database has problems:\n{}", check.problems.join("\n"))
                }
            })?;
            if !check.ok {
                anyhow::bail!("the database check found {} problem(s)", check.problems.len());
            }
            Ok(())
        }
        Command::Models { action } => models_command(app, action, out),
        Command::Source { action } => source_command(app, action, out),
        Command::Sync { source } => sync(app, source, out),
        Command::Opml { action } => opml_command(app, action, out),
        Command::Account { action } => account_command(app, action, out),
        Command::Notifications { limit } => {
            for notification in app.notifications(Some(limit))? {
                out.value(&notification, || {
                    let what = match notification.kind.as_str() {
                        "mention" => "mentioned you",
                        "reply" => "replied to you",
                        "favourite" => "liked your post",
                        "boost" => "boosted your post",
                        "follow" => "followed you",
                        "quote" => "quoted your post",
                        _ => "did something",
                    };
                    let excerpt = notification.excerpt.as_deref().map(|text| format!(": {text}")).unwrap_or_default();
                    format!("{}  {} {what}{excerpt}", notification.created_at, notification.actor.display_name)
                })?;
            }
            Ok(())
        }
        Command::Embed { input } => embed(app, input.as_deref(), out),
        Command::Classify { files, top } => classify(app, &files, usize::from(top), out),
        Command::Transcribe { files, model } => {
            let model = model.unwrap_or_else(|| app.config().speech_model.clone());
            transcribe(app, &files, &model, out)
        }
        Command::Sentiment { input } => sentiment(app, input.as_deref(), out),
        Command::Enrich => enrich(app, out),
        Command::BenchText { input } => bench_text(app, &input),
        Command::BenchImages { files, images } => bench_images(app, &files, images),
        Command::BenchSpeech { files, wav } => bench_speech(app, &files, &wav),
        Command::TrainSentiment { data, out: out_dir, evaluation_sets, select_on, adjust_on, epochs, tuned_layers } => {
            let options = hearth_core::models::sentiment::TrainingOptions {
                epochs,
                tuned_layers,
                ..hearth_core::models::sentiment::TrainingOptions::default()
            };
            crate::train::train_sentiment(
                app,
                &data,
                &out_dir,
                &evaluation_sets,
                select_on.as_deref(),
                adjust_on.as_deref(),
                options,
            )
        }
        Command::Serve { .. } => unreachable_serve(),
    }
}

fn source_command(app: &App, action: SourceAction, out: &Output) -> anyhow::Result<()> {
    match action {
        SourceAction::Add { url } => {
            let source = app.add_source(&url)?;
            out.value(&source, || {
                format!("Subscribed to {} ({} posts): source {}", source.name, source.item_count, source.id)
            })
        }
        SourceAction::List => {
            for source in app.sources()? {
                out.value(&source, || {
                    let state = match (&source.last_error, source.state) {
                        (Some(error), _) => error.clone(),
                        (None, state) => state.to_owned(),
                    };
                    format!(
                        "{:>4}  {:<30} {:>5} posts  {}  {}",
                        source.id, source.name, source.item_count, source.url, state
                    )
                })?;
            }
            Ok(())
        }
        SourceAction::Remove { id, delete_liked } => {
            let removed = app.remove_source(id, !delete_liked)?;
            out.value(&removed, || {
                format!(
                    "Removed source {id}: {} posts deleted, {} liked posts kept",
                    removed.removed_posts, removed.kept_posts
                )
            })
        }
    }
}

/// `hearth sync`: fetches now and reports each source; the exit status says if any failed.
fn sync(app: &App, source: Option<i64>, out: &Output) -> anyhow::Result<()> {
    let outcomes = app.sync_sources(source)?;
    let failed = outcomes.iter().filter(|outcome| outcome.status == "failed").count();
    for outcome in &outcomes {
        out.value(outcome, || match &outcome.error {
            Some(error) => format!("{}: {error}", outcome.name),
            None => format!("{}: {} new, {} updated", outcome.name, outcome.new, outcome.updated),
        })?;
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} sources could not be synced", outcomes.len());
    }
    Ok(())
}

fn account_command(app: &App, action: AccountAction, out: &Output) -> anyhow::Result<()> {
    let describe = |account: &hearth_core::store::accounts::AccountInfo| {
        let state = match (&account.last_error, account.state) {
            (Some(error), "failing" | "sign_in_again") => error.clone(),
            (_, state) => state.to_owned(),
        };
        format!(
            "{:>4}  {:<9} {:<40} {}  (sign-in kept in the {})",
            account.id,
            account.kind.as_str(),
            account.handle,
            state,
            account.token_storage
        )
    };
    match action {
        AccountAction::Add { network: AddAccount::Mastodon { server, no_browser } } => {
            let sign_in = app.begin_mastodon_sign_in(&server)?;
            // Written, not `eprintln!`: a closed stderr (a script that read the address and went
            // on) must not end the sign-in.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "To let Hearth in, approve it in your browser at:\n  {}",
                sign_in.authorize_url
            );
            if !no_browser && std::env::var_os("HEARTH_NO_BROWSER").is_none() {
                open_in_browser(&sign_in.authorize_url);
            }
            let _ = writeln!(std::io::stderr(), "Waiting for the approval (up to 10 minutes)…");
            let account = loop {
                let state = app.sign_in_state(&sign_in.id)?;
                match state.state {
                    "done" => {
                        break state
                            .account
                            .ok_or_else(|| anyhow::anyhow!("the sign-in finished without an account"))?
                    }
                    "failed" => anyhow::bail!(state.error.unwrap_or_else(|| "the sign-in failed".into())),
                    _ => std::thread::sleep(std::time::Duration::from_millis(200)),
                }
            };
            out.value(&account, || format!("Signed in as {}: account {}", account.handle, account.id))
        }
        AccountAction::Add { network: AddAccount::Bluesky { handle, app_password_stdin: _, service } } => {
            let mut app_password = String::new();
            std::io::stdin().read_line(&mut app_password)?;
            let request =
                hearth_core::app::BlueskySignIn { handle, app_password: app_password.trim().to_owned(), service };
            let account = app.add_bluesky_account(&request)?;
            out.value(&account, || format!("Signed in as {}: account {}", account.handle, account.id))
        }
        AccountAction::List => {
            for account in app.accounts()? {
                out.value(&account, || describe(&account))?;
            }
            Ok(())
        }
        AccountAction::Remove { id } => {
            app.remove_account(id)?;
            out.value(&serde_json::json!({ "removed": id }), || format!("Signed out of account {id}"))
        }
    }
}

/// Opens an address in the user's browser; the address is printed too, so a failure is fine.
fn open_in_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

fn opml_command(app: &App, action: OpmlAction, out: &Output) -> anyhow::Result<()> {
    match action {
        OpmlAction::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|error| hearth_core::Error::invalid(format!("cannot read {}: {error}", file.display())))?;
            let import = app.import_opml(&text)?;
            out.value(&import, || {
                let mut lines = vec![format!(
                    "Added {} subscriptions ({} already there); `hearth sync` fetches them",
                    import.added, import.existing
                )];
                lines.extend(import.errors.iter().map(|error| format!("  {}: {}", error.url, error.message)));
                lines.join("\n")
            })
        }
        OpmlAction::Export => {
            print!("{}", app.export_opml()?);
            Ok(())
        }
    }
}

fn models_command(app: &App, action: ModelsAction, out: &Output) -> anyhow::Result<()> {
    let chosen = |id: Option<String>| -> anyhow::Result<Vec<String>> {
        Ok(match id {
            Some(id) => vec![id],
            // Larger alternatives (Whisper base.en, small.en) only when named.
            None => app.models()?.into_iter().filter(|model| !model.optional).map(|model| model.id).collect(),
        })
    };
    match action {
        ModelsAction::List => {
            for model in app.models()? {
                out.value(&model, || {
                    format!(
                        "{:<20} {:<15} {:>7.1} MB  {}",
                        model.id,
                        model.task,
                        model.size_bytes as f64 / 1e6,
                        model.detail.clone().unwrap_or_else(|| format!("installed in {}", model.path))
                    )
                })?;
            }
            Ok(())
        }
        ModelsAction::Fetch { id } => {
            for id in chosen(id)? {
                let mut progress = crate::progress::FetchBar::new(&id);
                let status = app.fetch_model(&id, &mut progress)?;
                progress.done();
                out.value(&status, || format!("{} is installed in {}", status.id, status.path))?;
            }
            Ok(())
        }
        ModelsAction::UseSpeech { id } => {
            let status = app.set_speech_model(&id)?;
            let installed = app.models()?.into_iter().any(|model| model.id == id && model.state == "installed");
            out.value(&status.speech, || {
                if installed {
                    format!("transcription uses {id} from now on")
                } else {
                    format!("transcription uses {id} from now on; fetch it with `hearth models fetch {id}`")
                }
            })
        }
        ModelsAction::Verify { id } => {
            let mut damaged = 0;
            for id in chosen(id)? {
                let check = app.verify_model(&id)?;
                damaged += usize::from(!check.ok);
                out.value(&serde_json::json!({ "id": id, "ok": check.ok, "problems": check.problems }), || {
                    if check.ok {
                        format!("{id}: every file matches its sha256")
                    } else {
                        format!("{id}: {}", check.problems.join("; "))
                    }
                })?;
            }
            if damaged > 0 {
                anyhow::bail!("{damaged} model(s) failed verification; run `hearth models fetch` to repair them");
            }
            Ok(())
        }
    }
}

/// One text per line, from a file or standard input.
fn input_lines(input: Option<&std::path::Path>) -> anyhow::Result<Vec<String>> {
    use std::io::BufRead as _;
    Ok(match input {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| hearth_core::Error::invalid(format!("cannot read {}: {error}", path.display())))?
            .lines()
            .map(str::to_owned)
            .collect(),
        None => std::io::stdin().lock().lines().collect::<Result<_, _>>()?,
    })
}

/// `hearth bench-text`: texts per second for embeddings, the tone model, and both, on the CPU,
/// after a warm-up batch; one JSON object.
fn bench_text(app: &App, input: &std::path::Path) -> anyhow::Result<()> {
    use std::time::Instant;
    let lines = input_lines(Some(input))?;
    let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
    let device = hearth_core::models::DeviceChoice::Cpu;
    let embedder = app.text_embedder(device)?;
    let tone = app.tone_model(device)?;
    embedder.embed(&texts[..texts.len().min(32)])?; // warm-up
    tone.classify(&texts[..texts.len().min(32)])?;
    let started = Instant::now();
    embedder.embed(&texts)?;
    let embed_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    tone.classify(&texts)?;
    let tone_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    embedder.embed(&texts)?;
    tone.classify(&texts)?;
    let both_seconds = started.elapsed().as_secs_f64();
    let per_second = |seconds: f64| (texts.len() as f64 / seconds * 10.0).round() / 10.0;
    println!(
        "{}",
        serde_json::json!({
            "implementation": "Hearth (candle, CPU)",
            "texts": texts.len(),
            "seconds": (embed_seconds * 1000.0).round() / 1000.0,
            "texts_per_second": per_second(embed_seconds),
            "tone_texts_per_second": per_second(tone_seconds),
            "embed_and_tone_texts_per_second": per_second(both_seconds),
            "threads": std::thread::available_parallelism().map_or(1, usize::from),
            "profile": if cfg!(debug_assertions) { "dev (dependencies at opt-level 2)" } else { "release" },
        })
    );
    Ok(())
}

/// Milliseconds per image for decode + preprocess + inference at batch 1 and batch 16, on
/// `count` images cycled from `files` (read into memory first: disk speed is not measured).
fn bench_speech(app: &App, files: &[PathBuf], wav: &std::path::Path) -> anyhow::Result<()> {
    use hearth_core::models::speech::{SpeechModel, DEFAULT_MODEL_ID};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Instant;
    let model =
        SpeechModel::load(&app.config().models_dir(), DEFAULT_MODEL_ID, hearth_core::models::DeviceChoice::Cpu)?;
    let started = Instant::now();
    let mut samples = Vec::new();
    for file in files {
        let extension = file.extension().and_then(|extension| extension.to_str());
        samples.extend(hearth_core::audio::decode(std::fs::read(file)?, extension)?.samples);
        samples.extend(std::iter::repeat_n(0.0, 8_000)); // half a second between recordings
    }
    let decode_seconds = started.elapsed().as_secs_f64();
    let audio = hearth_core::audio::Audio { samples };
    std::fs::write(wav, hearth_core::audio::wav_bytes(&audio))?;
    let started = Instant::now();
    let transcript = model.transcribe(&audio, Arc::new(|_| {}), &Arc::new(AtomicBool::new(false)))?;
    let seconds = started.elapsed().as_secs_f64();
    let threads = hearth_core::models::speech::transcription_threads();
    println!(
        "{}",
        serde_json::json!({
            "implementation": format!("Hearth (whisper-rs, whisper.cpp {} threads)", threads),
            "audio_seconds": audio.seconds(),
            "decode_seconds": decode_seconds,
            "transcribe_seconds": seconds,
            "real_time_factor": seconds / audio.seconds(),
            "words": transcript.text.split_whitespace().count(),
        })
    );
    Ok(())
}

fn bench_images(app: &App, files: &[PathBuf], count: usize) -> anyhow::Result<()> {
    use hearth_core::models::image_classifier::BATCH_SIZE;
    use std::time::Instant;
    let classifier = app.image_classifier(hearth_core::models::DeviceChoice::Cpu)?;
    let bytes: Vec<Vec<u8>> = files.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let inputs: Vec<&[u8]> = bytes.iter().cycle().take(count.max(1)).map(Vec::as_slice).collect();
    let run = |batch: usize| -> anyhow::Result<f64> {
        let started = Instant::now();
        for chunk in inputs.chunks(batch) {
            let images = hearth_core::images::decode_all(chunk).into_iter().collect::<Result<Vec<_>, _>>()?;
            classifier.classify(&images, 5)?;
        }
        Ok(started.elapsed().as_secs_f64() * 1000.0 / inputs.len() as f64)
    };
    run(BATCH_SIZE)?; // warm-up
    let batch_1 = run(1)?;
    let batch_16 = run(BATCH_SIZE)?;
    println!(
        "{}",
        serde_json::json!({
            "implementation": "Hearth (candle, CPU)",
            "images": inputs.len(),
            "batch_1_ms_per_image": (batch_1 * 100.0).round() / 100.0,
            "batch_16_ms_per_image": (batch_16 * 100.0).round() / 100.0,
            "threads": std::thread::available_parallelism().map_or(1, usize::from),
            "profile": if cfg!(debug_assertions) { "dev (dependencies at opt-level 2)" } else { "release" },
        })
    );
    Ok(())
}

/// `hearth enrich`: the enrichment backlog, in the foreground, with progress on stderr.
fn enrich(app: &App, out: &Output) -> anyhow::Result<()> {
    use hearth_core::enrich;
    let started = std::time::Instant::now();
    let models = enrich::TextModels::load(&app.config().models_dir(), app.config().device)?;
    let mut enriched = 0;
    loop {
        let done = enrich::enrich_batch(app.store(), &models, enrich::BATCH_SIZE)?;
        if done == 0 {
            break;
        }
        enriched += done;
        let status = app.enrichment_status()?;
        eprint!("\renriched {} of {} posts", status.done, status.total);
    }
    if enriched > 0 {
        eprintln!();
    }
    // Images, when the image model is installed; without it the text work still counts.
    let mut labelled = 0;
    let image_problem = match enrich::load_image_classifier(&app.config().models_dir(), app.config().device) {
        Ok(classifier) => {
            loop {
                let done = enrich::enrich_images_batch(
                    app.store(),
                    &models,
                    &classifier,
                    &app.config().data_dir,
                    enrich::IMAGE_BATCH_SIZE,
                )?;
                if done == 0 {
                    break;
                }
                labelled += done;
                let status = app.enrichment_status()?;
                eprint!("\rlabelled {} of {} images", status.images.done, status.images.total);
            }
            if labelled > 0 {
                eprintln!();
            }
            None
        }
        Err(error) => Some(error.to_string()),
    };
    let status = app.enrichment_status()?;
    let seconds = started.elapsed().as_secs_f64();
    out.value(
        &serde_json::json!({
            "enriched": enriched,
            "done": status.done,
            "total": status.total,
            "images_labelled": labelled,
            "images_done": status.images.done,
            "images_total": status.images.total,
            "images_unavailable": image_problem,
            "seconds": seconds,
        }),
        || {
            let images = match &image_problem {
                Some(problem) => format!(" Images were not labelled: {problem}"),
                None => format!(
                    " Labelled {labelled} images; {} of {} have labels.",
                    status.images.done, status.images.total
                ),
            };
            format!(
                "Enriched {enriched} posts in {seconds:.1} s; {} of {} posts have a tone.{images}",
                status.done, status.total
            )
        },
    )
}

/// `hearth sentiment`: texts in (one per line), `{"text", "label", "score", "probabilities"}`
/// lines out (probabilities of positive, neutral, negative; score = P(positive) − P(negative)).
fn sentiment(app: &App, input: Option<&std::path::Path>, out: &Output) -> anyhow::Result<()> {
    let lines = input_lines(input)?;
    let device = app.config().device;
    let tone = app.tone_model(device)?;
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    for chunk in lines.chunks(256) {
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let tones = tone.classify(&texts)?;
        for (text, tone) in texts.iter().zip(tones) {
            if out.json {
                writeln!(
                    lock,
                    "{}",
                    serde_json::json!({ "text": text, "label": tone.label, "score": tone.score, "probabilities": tone.probabilities })
                )?;
            } else {
                writeln!(lock, "{:<8} {:+.2}  {text}", tone.label.as_str(), tone.score)?;
            }
        }
    }
    Ok(())
}

/// `hearth embed`: texts in (one per line), `{"text", "vector"}` lines out, in input order.
fn embed(app: &App, input: Option<&std::path::Path>, out: &Output) -> anyhow::Result<()> {
    let lines = input_lines(input)?;
    let embedder = app.text_embedder(app.config().device)?;
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    for chunk in lines.chunks(256) {
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for (text, vector) in texts.iter().zip(embedder.embed(&texts)?) {
            if out.json {
                writeln!(lock, "{}", serde_json::json!({ "text": text, "vector": vector }))?;
            } else {
                let head: Vec<String> = vector.iter().take(4).map(|value| format!("{value:+.4}")).collect();
                writeln!(lock, "[{} …] {text}", head.join(", "))?;
            }
        }
    }
    Ok(())
}

/// `hearth classify`: one `{"file", "labels"}` (or `{"file", "error"}`) line per file, in
/// order; images are decoded as they are classified, a batch at a time.
fn classify(app: &App, files: &[PathBuf], top: usize, out: &Output) -> anyhow::Result<()> {
    use hearth_core::models::image_classifier::BATCH_SIZE;
    let classifier = app.image_classifier(app.config().device)?;
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let mut failed = 0;
    for chunk in files.chunks(BATCH_SIZE) {
        let files: Vec<hearth_core::Result<Vec<u8>>> = chunk
            .iter()
            .map(|file| {
                std::fs::read(file)
                    .map_err(|error| hearth_core::Error::invalid(format!("cannot read {}: {error}", file.display())))
            })
            .collect();
        let readable: Vec<&[u8]> = files.iter().filter_map(|file| file.as_deref().ok()).collect();
        let mut images = hearth_core::images::decode_all(&readable).into_iter();
        let decoded: Vec<hearth_core::Result<hearth_core::images::RgbImage>> = files
            .into_iter()
            .map(|file| {
                file.and_then(|_| {
                    images
                        .next()
                        .unwrap_or_else(|| Err(hearth_core::Error::Internal("a decoded image went missing".into())))
                })
            })
            .collect();
        let images: Vec<hearth_core::images::RgbImage> =
            decoded.iter().filter_map(|image| image.as_ref().ok().cloned()).collect();
        let mut labels = classifier.classify(&images, top)?.into_iter();
        for (file, image) in chunk.iter().zip(decoded) {
            let name = file.display().to_string();
            match image {
                Ok(_) => {
                    let labels = labels.next().unwrap_or_default();
                    if out.json {
                        writeln!(lock, "{}", serde_json::json!({ "file": name, "labels": labels }))?;
                    } else {
                        let text: Vec<String> =
                            labels.iter().map(|label| format!("{} {:.0}%", label.label, label.score * 100.0)).collect();
                        writeln!(lock, "{name}: {}", text.join(", "))?;
                    }
                }
                Err(error) => {
                    failed += 1;
                    write_file_error(&mut lock, out, &name, &error)?;
                }
            }
        }
    }
    all_files_done(failed, files.len(), "classified")
}

/// One file's error line: `{"file", "error": {code, message}}` in JSON, else plain words.
fn write_file_error(lock: &mut impl Write, out: &Output, name: &str, error: &hearth_core::Error) -> anyhow::Result<()> {
    if out.json {
        writeln!(lock, "{}", serde_json::json!({ "file": name, "error": error.body() }))?;
    } else {
        writeln!(lock, "{name}: error: {error}")?;
    }
    Ok(())
}

/// The exit status of a command over several files: an error when any failed (`verb`: what
/// could not be done to them).
fn all_files_done(failed: usize, files: usize, verb: &str) -> anyhow::Result<()> {
    if failed > 0 {
        return Err(hearth_core::Error::invalid(format!("{failed} of {files} files could not be {verb}")).into());
    }
    Ok(())
}

fn transcribe(app: &App, files: &[PathBuf], model_id: &str, out: &Output) -> anyhow::Result<()> {
    use hearth_core::models::speech::SpeechModel;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Instant;
    let model = SpeechModel::load(&app.config().models_dir(), model_id, app.config().device)?;
    let never = Arc::new(AtomicBool::new(false));
    let stdout = std::io::stdout();
    let mut failed = 0;
    for file in files {
        let name = file.display().to_string();
        let started = Instant::now();
        let transcript = std::fs::read(file)
            .map_err(|error| hearth_core::Error::invalid(format!("cannot read {name}: {error}")))
            .and_then(|bytes| {
                let extension = file.extension().and_then(|extension| extension.to_str());
                hearth_core::audio::decode(bytes, extension)
            })
            .and_then(|audio| {
                let label = name.clone();
                let progress = move |fraction: f64| eprint!("\r{label}: {:3.0}%", fraction * 100.0);
                let transcript = model.transcribe(&audio, Arc::new(progress), &never);
                eprint!("\r\x1b[2K");
                transcript
            });
        let mut lock = stdout.lock();
        match transcript {
            Ok(transcript) => {
                if out.json {
                    let mut value = serde_json::to_value(&transcript)?;
                    value["file"] = serde_json::json!(name);
                    value["seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
                    writeln!(lock, "{value}")?;
                } else {
                    writeln!(lock, "{name} ({:.1} s of audio):", transcript.audio_seconds)?;
                    for segment in &transcript.segments {
                        writeln!(lock, "  [{:>7.2} → {:>7.2}] {}", segment.start, segment.end, segment.text)?;
                    }
                }
            }
            Err(error) => {
                failed += 1;
                write_file_error(&mut lock, out, &name, &error)?;
            }
        }
    }
    all_files_done(failed, files.len(), "transcribed")
}

fn unreachable_serve() -> anyhow::Result<()> {
    anyhow::bail!("serve is handled before the app is opened")
}

fn interact(app: &App, out: &Output, post_id: i64, kind: InteractionKind, verb: &str) -> anyhow::Result<()> {
    let post = app.record_interaction(&InteractionInput::on_post(post_id, kind))?;
    match post {
        Some(post) if out.json => out.post(&post),
        _ => {
            println!("{verb} post {post_id}.");
            Ok(())
        }
    }
}

/// Reads a file for a new post; the core checks what it really is.
fn attachment(path: &std::path::Path, alt_text: Option<String>) -> anyhow::Result<Attachment> {
    const LARGEST_ATTACHMENT: u64 = 25 * 1024 * 1024;
    let metadata =
        std::fs::metadata(path).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
    if metadata.len() > LARGEST_ATTACHMENT {
        anyhow::bail!("{} is larger than {} MiB", path.display(), LARGEST_ATTACHMENT >> 20);
    }
    let bytes = std::fs::read(path).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
    Ok(Attachment {
        file_name: path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(),
        mime: String::new(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        alt_text,
    })
}

/// Prints results as JSON lines or as text for people.
struct Output {
    json: bool,
}

impl Output {
    fn value<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string(value)?);
        } else {
            println!("{}", human());
        }
        Ok(())
    }

    fn post(&self, post: &Post) -> anyhow::Result<()> {
        self.value(post, || describe(post))
    }

    fn posts(&self, posts: &[Post]) -> anyhow::Result<()> {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        for post in posts {
            if self.json {
                writeln!(lock, "{}", serde_json::to_string(post)?)?;
            } else {
                writeln!(lock, "{}\n", describe(post))?;
            }
        }
        Ok(())
    }
}

fn describe(post: &Post) -> String {
    let mut lines = vec![format!(
        "#{}  {} (@{})  {}{}",
        post.id,
        post.author.display_name,
        post.author.handle,
        post.created_at,
        if post.state.liked { "  ♥" } else { "" }
    )];
    if !post.text.is_empty() {
        lines.push(post.text.clone());
    }
    for media in &post.media {
        let alt = media.alt_text.as_deref().map(|alt| format!(": {alt}")).unwrap_or_default();
        lines.push(format!("[{} {}{alt}]", media.kind.as_str(), media.mime));
    }
    if let Some(reason) = &post.reason {
        lines.push(format!("why: {reason}"));
    }
    lines.join("\n")
}
