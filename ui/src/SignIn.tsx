// Signing in to Mastodon and Bluesky (Settings → Accounts): Mastodon through the browser, where
// the user approves Hearth while Hearth asks every second how the sign-in stands; Bluesky with a
// handle and an app password (checked here first), and again with a new app password when the
// server refused the saved one.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, isTauri, openExternal } from './api';
import type { Account, SignIn, SignInState } from './types';
import { asSentence, feedHost } from './format';
import { atHandle } from './networks';
import { checkAppPassword, checkBlueskyHandle, checkServerAddress } from './validate';

function errText(e: unknown): string {
  return e instanceof ApiError ? e.message : 'Something went wrong.';
}

/** How often a Mastodon sign-in is asked about while the user approves it in the browser. */
export const SIGN_IN_POLL_MS = 1000;
/** How long Hearth waits for the approval before it gives up. */
export const SIGN_IN_GIVE_UP_MS = 10 * 60_000;
/** Where Bluesky's users make an app password. */
export const APP_PASSWORDS_URL = 'https://bsky.app/settings/app-passwords';

type SignInWatchers = {
  /** The user approved Hearth: the account signed in (null when the backend did not say which). */
  done: (account: Account | null) => void;
  /** The sign-in failed, was refused, or took too long; why, in a sentence. */
  failed: (message: string) => void;
};

type WatchOptions = {
  intervalMs?: number;
  giveUpMs?: number;
  /** Asks where the sign-in stands (`api.signInState` by default). */
  check?: (id: string) => Promise<SignInState>;
};

/**
 * Asks where Mastodon sign-in `id` stands every `intervalMs` (one request at a time) until it is
 * done or failed, and calls `on.done` or `on.failed` once. Hearth being briefly unreachable is
 * waited out; any other error ends the wait, as does `giveUpMs` without an answer. Returns the
 * function that stops asking (nothing is called after it).
 */
export function watchSignIn(id: string, on: SignInWatchers, options: WatchOptions = {}): () => void {
  const { intervalMs = SIGN_IN_POLL_MS, giveUpMs = SIGN_IN_GIVE_UP_MS, check = api.signInState } = options;
  const started = Date.now();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const finish = (report: () => void) => {
    stopped = true;
    report();
  };
  const poll = async () => {
    let reply: SignInState | null = null;
    try {
      reply = await check(id);
    } catch (e) {
      if (stopped) return;
      if (!(e instanceof ApiError && e.code === 'unavailable')) return finish(() => on.failed(errText(e)));
    }
    if (stopped) return;
    if (reply?.state === 'done') return finish(() => on.done(reply.account ?? null));
    if (reply?.state === 'failed') {
      const why = reply.error?.trim();
      return finish(() => on.failed(why ? asSentence(why) : 'The server did not let Hearth sign in.'));
    }
    if (Date.now() - started >= giveUpMs) {
      return finish(() => on.failed('Hearth waited too long for the approval. Try again.'));
    }
    timer = setTimeout(() => void poll(), intervalMs);
  };
  timer = setTimeout(() => void poll(), intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** A Mastodon sign-in: being started, waiting for the user's approval, or failed (with why). */
type Flow =
  | { phase: 'idle' }
  | { phase: 'starting'; server: string; from: Origin }
  | { phase: 'waiting'; server: string; from: Origin; signIn: SignIn }
  | { phase: 'failed'; server: string; from: Origin; message: string };

/** Where a sign-in was started: the "Add a Mastodon account" form, or an account's "Sign in again". */
export type Origin = 'form' | number;

/**
 * The Mastodon sign-in flow: starts it (opening the approval page in browser mode: the desktop
 * app's backend opens the system browser itself), watches it, and reports the account signed in.
 */
export function useMastodonSignIn(onSignedIn: (account: Account | null, from: Origin) => void) {
  const [flow, setFlow] = useState<Flow>({ phase: 'idle' });
  // Each start is numbered: the replies to one cancelled or replaced are dropped.
  const run = useRef(0);
  const stopWatching = useRef<() => void>(() => {});
  const latest = useRef(onSignedIn);
  latest.current = onSignedIn;

  useEffect(() => () => stopWatching.current(), []);

  const start = async (server: string, from: Origin) => {
    stopWatching.current();
    const mine = ++run.current;
    setFlow({ phase: 'starting', server, from });
    let signIn: SignIn;
    try {
      signIn = await api.beginMastodonSignIn(server);
    } catch (e) {
      if (mine === run.current) setFlow({ phase: 'failed', server, from, message: errText(e) });
      return;
    }
    if (mine !== run.current) return;
    if (!isTauri()) {
      // A new tab without a reference back to Hearth; a blocked pop-up leaves the link in the panel.
      openExternal(signIn.authorize_url).catch(() => {});
    }
    setFlow({ phase: 'waiting', server, from, signIn });
    stopWatching.current = watchSignIn(signIn.id, {
      done: (account) => {
        if (mine !== run.current) return;
        setFlow({ phase: 'idle' });
        latest.current(account, from);
      },
      failed: (message) => {
        if (mine === run.current) setFlow({ phase: 'failed', server, from, message });
      },
    });
  };

  const cancel = () => {
    run.current++;
    stopWatching.current();
    // The backend stops waiting for the browser too (its one-off address closes).
    if (flow.phase === 'waiting') api.cancelSignIn(flow.signIn.id).catch(() => {});
    setFlow({ phase: 'idle' });
  };

  return { flow, start, cancel };
}

export type MastodonFlow = ReturnType<typeof useMastodonSignIn>;

/**
 * The wait while the user approves Hearth in the browser: what is happening, a link to open the
 * approval page again (a pop-up blocker may have stopped it), and Cancel, which takes the focus.
 */
export function SignInWaiting({ flow, onCancel }: { flow: Extract<Flow, { phase: 'waiting' }>; onCancel: () => void }) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    cancel.current?.focus();
  }, []);
  const href = flow.signIn.authorize_url;
  return (
    <div
      class="sign-in-waiting"
      data-testid="sign-in-waiting"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          // Handled here, so the app does not also leave Settings.
          e.preventDefault();
          e.stopPropagation();
          onCancel();
        }
      }}
    >
      <span class="spinner" aria-hidden="true" />
      <div class="sign-in-waiting-text">
        <p role="status">Waiting for you to approve Hearth in your browser…</p>
        <p class="muted small">
          Signing in to {feedHost(flow.server)}. No page opened?{' '}
          <a
            href={href}
            target="_blank"
            rel="noopener noreferrer"
            onClick={(e) => {
              e.preventDefault();
              openExternal(href).catch(() => {});
            }}
          >
            Open the sign-in page
          </a>
        </p>
      </div>
      <button ref={cancel} type="button" class="btn small" data-testid="sign-in-cancel" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** "Add a Mastodon account": the server's address, then the sign-in in the browser. */
export function AddMastodon({ mastodon }: { mastodon: MastodonFlow }) {
  const [address, setAddress] = useState('');
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const submitButton = useRef<HTMLButtonElement>(null);
  const { flow } = mastodon;
  const mine = flow.phase !== 'idle' && flow.from === 'form' ? flow : null;
  const busy = mine !== null && mine.phase !== 'failed';
  const shownError = error ?? (mine?.phase === 'failed' ? `Could not sign in: ${mine.message}` : null);

  // A failed sign-in puts the focus back in the field, to correct it or try again.
  useEffect(() => {
    if (mine?.phase === 'failed') input.current?.focus();
  }, [mine?.phase]);

  const submit = () => {
    if (busy) return;
    const checked = checkServerAddress(address);
    if (!checked.ok) {
      setError(checked.message);
      input.current?.focus();
      return;
    }
    setError(null);
    void mastodon.start(checked.value, 'form');
  };

  return (
    <form
      class="add-account"
      noValidate
      aria-labelledby="add-mastodon-title"
      aria-busy={busy}
      data-testid="add-mastodon"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <h3 id="add-mastodon-title">Add a Mastodon account</h3>
      <label for="mastodon-server">Mastodon server</label>
      <div class="row">
        <input
          ref={input}
          id="mastodon-server"
          type="text"
          inputMode="url"
          autoComplete="url"
          autoCapitalize="none"
          spellcheck={false}
          data-testid="mastodon-server"
          placeholder="mastodon.social"
          value={address}
          readOnly={busy}
          aria-invalid={shownError ? true : undefined}
          aria-describedby={shownError ? 'mastodon-server-error mastodon-server-help' : 'mastodon-server-help'}
          onInput={(e) => {
            setAddress((e.target as HTMLInputElement).value);
            setError(null);
          }}
        />
        <button ref={submitButton} type="submit" class="btn primary" data-testid="mastodon-sign-in" disabled={busy}>
          {mine?.phase === 'starting' && <span class="spinner" aria-hidden="true" />}
          Sign in with Mastodon
        </button>
      </div>
      <p class="muted small" id="mastodon-server-help">
        The server your account is on. Hearth opens its sign-in page in your browser, where you approve it.
      </p>
      {mine?.phase === 'waiting' && (
        <SignInWaiting
          flow={mine}
          onCancel={() => {
            mastodon.cancel();
            // The button is enabled again once the wait has gone.
            setTimeout(() => submitButton.current?.focus(), 0);
          }}
        />
      )}
      {shownError && (
        <p class="inline-error" id="mastodon-server-error" role="alert" data-testid="mastodon-error">
          {shownError}
        </p>
      )}
    </form>
  );
}

/** Opens Bluesky's app-password settings outside Hearth. */
function AppPasswordLink() {
  return (
    <a
      href={APP_PASSWORDS_URL}
      target="_blank"
      rel="noopener noreferrer"
      onClick={(e) => {
        e.preventDefault();
        openExternal(APP_PASSWORDS_URL).catch(() => {});
      }}
    >
      Use an app password, not your main password
    </a>
  );
}

/** "Add a Bluesky account": the handle, an app password, and (under Advanced) the server. */
export function AddBluesky({ onAdded }: { onAdded: (account: Account) => void }) {
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const [server, setServer] = useState('');
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<{ field: 'handle' | 'password' | 'server' | null; message: string } | null>(null);
  const handleInput = useRef<HTMLInputElement>(null);
  const passwordInput = useRef<HTMLInputElement>(null);
  const serverInput = useRef<HTMLInputElement>(null);
  const advanced = useRef<HTMLDetailsElement>(null);

  const refuse = (field: 'handle' | 'password' | 'server', message: string) => {
    setError({ field, message });
    if (field === 'server' && advanced.current) advanced.current.open = true;
    ({ handle: handleInput, password: passwordInput, server: serverInput })[field].current?.focus();
  };

  const submit = async () => {
    if (adding) return;
    const h = checkBlueskyHandle(handle);
    if (!h.ok) return refuse('handle', h.message);
    const p = checkAppPassword(password);
    if (!p.ok) return refuse('password', p.message);
    let service: string | null = null;
    if (server.trim()) {
      const s = checkServerAddress(server, 'https://bsky.social');
      if (!s.ok) return refuse('server', s.message);
      service = s.value;
    }
    setAdding(true);
    setError(null);
    try {
      const account = await api.addBlueskyAccount(h.value, p.value, service);
      setHandle('');
      setPassword('');
      setServer('');
      onAdded(account);
    } catch (e) {
      setError({ field: null, message: `Could not sign in: ${errText(e)}` });
    } finally {
      setAdding(false);
    }
  };

  const invalid = (field: 'handle' | 'password' | 'server') => (error?.field === field ? true : undefined);
  const describedBy = (field: 'handle' | 'password' | 'server', help: string) =>
    error?.field === field ? `bluesky-error ${help}` : help;

  return (
    <form
      class="add-account"
      noValidate
      aria-labelledby="add-bluesky-title"
      aria-busy={adding}
      data-testid="add-bluesky"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3 id="add-bluesky-title">Add a Bluesky account</h3>
      <div class="field">
        <label for="bluesky-handle">Bluesky handle</label>
        <input
          ref={handleInput}
          id="bluesky-handle"
          type="text"
          autoComplete="username"
          autoCapitalize="none"
          spellcheck={false}
          data-testid="bluesky-handle"
          placeholder="alice.bsky.social"
          value={handle}
          readOnly={adding}
          aria-invalid={invalid('handle')}
          aria-describedby={error?.field === 'handle' ? 'bluesky-error' : undefined}
          onInput={(e) => {
            setHandle((e.target as HTMLInputElement).value);
            setError(null);
          }}
        />
      </div>
      <div class="field">
        <label for="bluesky-app-password">App password</label>
        <input
          ref={passwordInput}
          id="bluesky-app-password"
          type="password"
          autoComplete="off"
          autoCapitalize="none"
          spellcheck={false}
          data-testid="bluesky-app-password"
          placeholder="xxxx-xxxx-xxxx-xxxx"
          value={password}
          readOnly={adding}
          aria-invalid={invalid('password')}
          aria-describedby={describedBy('password', 'bluesky-app-password-help')}
          onInput={(e) => {
            setPassword((e.target as HTMLInputElement).value);
            setError(null);
          }}
        />
        <p class="muted small" id="bluesky-app-password-help">
          <AppPasswordLink />. Make one in Bluesky under Settings → Privacy and security → App passwords; you can
          revoke it there at any time.
        </p>
      </div>
      <details class="advanced" ref={advanced}>
        <summary>Advanced</summary>
        <div class="field">
          <label for="bluesky-server">Bluesky server</label>
          <input
            ref={serverInput}
            id="bluesky-server"
            type="text"
            inputMode="url"
            autoCapitalize="none"
            spellcheck={false}
            data-testid="bluesky-server"
            placeholder="https://bsky.social"
            value={server}
            readOnly={adding}
            aria-invalid={invalid('server')}
            aria-describedby={describedBy('server', 'bluesky-server-help')}
            onInput={(e) => {
              setServer((e.target as HTMLInputElement).value);
              setError(null);
            }}
          />
          <p class="muted small" id="bluesky-server-help">
            Only for an account on a server of its own (a PDS). Leave it empty for bsky.social.
          </p>
        </div>
      </details>
      <div class="row">
        <button type="submit" class="btn primary" data-testid="bluesky-sign-in" disabled={adding}>
          {adding && <span class="spinner" aria-hidden="true" />}
          Sign in with Bluesky
        </button>
      </div>
      {error && (
        <p class="inline-error" id="bluesky-error" role="alert" data-testid="bluesky-error">
          {error.message}
        </p>
      )}
    </form>
  );
}

/** A Bluesky account's "Sign in again": a new app password for the same handle and server. */
export function BlueskyPasswordAgain({
  account,
  onCancel,
  onDone,
}: {
  account: Account;
  onCancel: () => void;
  onDone: (account: Account) => void;
}) {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const handle = atHandle(account.handle);
  const id = `account-${account.id}-password`;

  useEffect(() => {
    input.current?.focus();
  }, []);

  const submit = async () => {
    if (busy) return;
    const p = checkAppPassword(password);
    if (!p.ok) {
      setError(p.message);
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const fresh = await api.addBlueskyAccount(account.handle.replace(/^@/, ''), p.value, account.server);
      setPassword('');
      onDone(fresh);
    } catch (e) {
      setError(`Could not sign in again: ${errText(e)}`);
      setBusy(false);
    }
  };

  return (
    <form
      class="account-password"
      noValidate
      aria-busy={busy}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label for={id}>App password for {handle}</label>
      <div class="row">
        <input
          ref={input}
          id={id}
          type="password"
          autoComplete="off"
          data-testid="account-app-password"
          value={password}
          readOnly={busy}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error ${id}-help` : `${id}-help`}
          onInput={(e) => {
            setPassword((e.target as HTMLInputElement).value);
            setError(null);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && !busy) {
              e.preventDefault();
              e.stopPropagation();
              onCancel();
            }
          }}
        />
        <button type="submit" class="btn small primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button type="button" class="btn small" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
      <p class="muted small" id={`${id}-help`}>
        <AppPasswordLink />.
      </p>
      {error && (
        <p class="inline-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
