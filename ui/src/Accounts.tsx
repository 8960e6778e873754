// Settings → Accounts: the Mastodon and Bluesky accounts Hearth signs in to. Each account with
// where it stands in plain words (synced, failing, "Sign in again"), actions waiting to be sent,
// whether live updates are on, and where its sign-in is kept; the actions its server refused,
// with Try again and Discard; Sign in again, and Sign out (asked first in a dialog). Below, the
// sign-in forms (SignIn.tsx).
import { ConfirmDialog } from './ConfirmDialog';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api';
import type { Account, OutboxItem } from './types';
import { feedHost } from './format';
import {
  accountStateText,
  atHandle,
  kindLabel,
  outboxActionText,
  outboxFailedText,
  pendingActionsText,
  tokenStorageText,
} from './networks';
import { useSyncMoved } from './progress';
import {
  AddBluesky,
  AddMastodon,
  BlueskyPasswordAgain,
  SignInWaiting,
  useMastodonSignIn,
  type MastodonFlow,
  type Origin,
} from './SignIn';
import * as I from './icons';

/** How often the relative times ("Synced 5 minutes ago") are brought up to date. */
const CLOCK_MS = 30_000;

function errText(e: unknown): string {
  return e instanceof ApiError ? e.message : 'Something went wrong.';
}

type SectionProps = {
  /** The time the relative times are counted from (for tests); the clock by default. */
  clock?: () => Date;
  /** An account was added or signed out: the feed will show different posts. */
  onChanged?: () => void;
};

/**
 * Settings → Accounts. The accounts and the outbox are fetched once, again when a sync round
 * moves on, and after each change made here.
 */
export function AccountsSection({ clock = () => new Date(), onChanged = () => {} }: SectionProps) {
  const [accounts, setAccounts] = useState<Account[] | null>(null);
  const [outbox, setOutbox] = useState<OutboxItem[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const [now, setNow] = useState(clock);
  const [signingOut, setSigningOut] = useState<Account | null>(null);
  const listTitle = useRef<HTMLHeadingElement>(null);
  const signOutOpener = useRef<HTMLElement | null>(null);
  const focusAfterDialog = useRef<HTMLElement | null>(null);
  const generation = useRef(0);

  const load = () => {
    const mine = ++generation.current;
    setLoadError(null);
    api.accounts().then(
      (list) => {
        if (mine !== generation.current) return;
        setAccounts(Array.isArray(list) ? list : []);
        setNow(clock());
      },
      (e) => {
        if (mine === generation.current) setLoadError(errText(e));
      },
    );
    // The outbox only adds the refused actions under their accounts: without it the list still stands.
    api.outbox().then(
      (items) => {
        if (mine === generation.current) setOutbox(Array.isArray(items) ? items : []);
      },
      () => {},
    );
  };

  useEffect(() => {
    load();
    const tick = setInterval(() => setNow(clock()), CLOCK_MS);
    return () => clearInterval(tick);
  }, []);
  useSyncMoved(() => load());

  const signedIn = (account: Account | null, from: Origin) => {
    load();
    onChanged();
    const who = account ? atHandle(account.handle) : null;
    setNotice(from === 'form' ? (who ? `Signed in as ${who}.` : 'Signed in.') : who ? `Signed in to ${who} again.` : 'Signed in again.');
    // The waiting panel (and its Cancel) is gone: the focus goes to the list the account is in.
    listTitle.current?.focus();
  };
  const mastodon = useMastodonSignIn(signedIn);

  const signedOut = (gone: Account) => {
    focusAfterDialog.current = listTitle.current;
    setSigningOut(null);
    setAccounts((list) => (list ? list.filter((a) => a.id !== gone.id) : list));
    setOutbox((items) => items.filter((i) => i.account_id !== gone.id));
    if (mastodon.flow.phase !== 'idle' && mastodon.flow.from === gone.id) mastodon.cancel();
    setNotice(`Signed out of ${atHandle(gone.handle)}. Posts you liked stay in Hearth.`);
    onChanged();
    load();
  };

  useEffect(() => {
    if (signingOut || !focusAfterDialog.current) return;
    focusAfterDialog.current.focus();
    focusAfterDialog.current = null;
    signOutOpener.current = null;
  }, [signingOut]);

  return (
    <div class="accounts" data-testid="accounts">
      <p class="muted small">
        Sign in to Mastodon or Bluesky to bring their posts into your feed, ranked on this device. Likes, boosts and
        replies you make here are sent to the server.
      </p>
      <h3 id="accounts-list-title" ref={listTitle} tabIndex={-1}>
        Your accounts
      </h3>
      <p class="small accounts-notice" role="status" data-testid="accounts-notice">
        {notice}
      </p>
      {loadError ? (
        <p class="inline-error" role="alert">
          Could not list your accounts: {loadError}{' '}
          <button type="button" class="link-btn" onClick={load}>
            Retry
          </button>
        </p>
      ) : !accounts ? (
        <p class="muted">Loading…</p>
      ) : accounts.length === 0 ? (
        <p class="muted" data-testid="accounts-empty">
          No accounts yet. Sign in below to follow your Mastodon or Bluesky timeline here.
        </p>
      ) : (
        <ul class="account-list" aria-labelledby="accounts-list-title">
          {accounts.map((a) => (
            <AccountRow
              key={a.id}
              account={a}
              now={now}
              failed={outbox.filter((i) => i.account_id === a.id && i.state === 'failed')}
              mastodon={mastodon}
              onChanged={load}
              onSignedInAgain={(account) => signedIn(account, a.id)}
              onSignOut={(opener) => {
                signOutOpener.current = opener;
                setSigningOut(a);
              }}
            />
          ))}
        </ul>
      )}

      <div class="add-accounts">
        <AddMastodon mastodon={mastodon} />
        <AddBluesky onAdded={(account) => signedIn(account, 'form')} />
      </div>

      {signingOut && (
        <SignOutDialog
          account={signingOut}
          onCancel={() => {
            focusAfterDialog.current = signOutOpener.current;
            setSigningOut(null);
          }}
          onSignedOut={() => signedOut(signingOut)}
        />
      )}
    </div>
  );
}

type RowProps = {
  account: Account;
  now: Date;
  /** The actions the server refused (the outbox's failed items for this account). */
  failed: OutboxItem[];
  mastodon: MastodonFlow;
  /** Something changed the account or its outbox: fetch them again. */
  onChanged: () => void;
  onSignedInAgain: (account: Account | null) => void;
  onSignOut: (opener: HTMLElement) => void;
};

/** One account: who and where, its state in words, the refused actions, and its buttons. */
function AccountRow({ account, now, failed, mastodon, onChanged, onSignedInAgain, onSignOut }: RowProps) {
  const [asking, setAsking] = useState(false);
  const signInAgainButton = useRef<HTMLButtonElement>(null);
  const handle = atHandle(account.handle);
  const name = account.display_name.trim() || handle;
  const flow = mastodon.flow.phase !== 'idle' && mastodon.flow.from === account.id ? mastodon.flow : null;
  const pending = pendingActionsText(account.pending_actions);
  const id = `account-${account.id}`;

  const signInAgain = () => {
    if (account.kind === 'mastodon') void mastodon.start(account.server, account.id);
    else setAsking(!asking);
  };

  return (
    <li class="account-row" data-testid="account-row" data-account-id={String(account.id)} data-state={account.state}>
      <div class="account-main">
        <div class="account-head">
          <span class={`account-kind kind-${account.kind}`} data-testid="account-kind">
            {kindLabel(account.kind)}
          </span>
          <strong class="account-name" id={`${id}-name`}>
            {name}
          </strong>
          {account.live && (
            <span class="live-badge" data-testid="account-live" title="Live updates are connected">
              Live
            </span>
          )}
        </div>
        <p class="muted small account-server" title={account.server}>
          {name === handle ? '' : `${handle} · `}
          {feedHost(account.server)}
        </p>
        <p class={`account-state small state-${account.state}`} data-testid="account-state">
          {accountStateText(account, now)}
        </p>
        {pending && (
          <p class="small account-pending" data-testid="account-pending">
            {pending}
          </p>
        )}
        <p class="muted small account-storage" data-testid="account-storage">
          <I.Lock size={13} /> {tokenStorageText(account.token_storage)}
        </p>
        {failed.length > 0 && <FailedActions items={failed} handle={handle} onChanged={onChanged} />}
        {flow?.phase === 'waiting' && (
          <SignInWaiting
            flow={flow}
            onCancel={() => {
              mastodon.cancel();
              // The button is enabled again once the wait has gone.
              setTimeout(() => signInAgainButton.current?.focus(), 0);
            }}
          />
        )}
        {flow?.phase === 'failed' && (
          <p class="inline-error" role="alert" data-testid="account-error">
            Could not sign in again: {flow.message}
          </p>
        )}
        {asking && (
          <BlueskyPasswordAgain
            account={account}
            onCancel={() => {
              setAsking(false);
              signInAgainButton.current?.focus();
            }}
            onDone={(fresh) => {
              setAsking(false);
              onSignedInAgain(fresh);
            }}
          />
        )}
      </div>
      <div class="account-actions" role="group" aria-label={`Actions for ${handle}`}>
        {account.state === 'sign_in_again' && (
          <button
            ref={signInAgainButton}
            type="button"
            class="btn small primary"
            data-testid="account-sign-in-again"
            aria-expanded={account.kind === 'bluesky' ? asking : undefined}
            disabled={flow !== null && flow.phase !== 'failed'}
            onClick={signInAgain}
          >
            Sign in again
          </button>
        )}
        <button
          type="button"
          class="btn small danger-text"
          data-testid="account-sign-out"
          aria-label={`Sign out of ${handle}`}
          aria-haspopup="dialog"
          onClick={(e) => onSignOut(e.currentTarget as HTMLElement)}
        >
          Sign out
        </button>
      </div>
    </li>
  );
}

/** The actions an account's server refused, each with Try again and Discard. */
function FailedActions({ items, handle, onChanged }: { items: OutboxItem[]; handle: string; onChanged: () => void }) {
  const [busy, setBusy] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  const act = async (item: OutboxItem, what: 'retry' | 'discard') => {
    setBusy(item.id);
    setError(null);
    try {
      if (what === 'retry') await api.retryOutbox(item.id);
      else await api.discardOutbox(item.id);
      onChanged();
    } catch (e) {
      setError(`Could not ${what === 'retry' ? 'try again' : 'discard it'}: ${errText(e)}`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div class="outbox">
      <ul class="outbox-list" aria-label={`Actions not sent to ${handle}`}>
        {items.map((item) => {
          const what = outboxActionText(item.action).toLowerCase();
          return (
            <li key={item.id} class="outbox-item" data-testid="outbox-item" data-outbox-id={String(item.id)}>
              <p class="small">{outboxFailedText(item)}</p>
              <div class="row">
                <button
                  type="button"
                  class="btn small"
                  data-testid="outbox-retry"
                  aria-label={`Try sending ${what} again`}
                  disabled={busy !== null}
                  onClick={() => void act(item, 'retry')}
                >
                  Try again
                </button>
                <button
                  type="button"
                  class="btn small danger-text"
                  data-testid="outbox-discard"
                  aria-label={`Discard ${what}`}
                  disabled={busy !== null}
                  onClick={() => void act(item, 'discard')}
                >
                  Discard
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      {error && (
        <p class="inline-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/**
 * "Sign out of <account>?": a modal dialog. Signing out revokes Hearth's sign-in on the server and
 * forgets it; the posts the user liked stay. Focus starts on Cancel; Escape cancels.
 */
function SignOutDialog({ account, onCancel, onSignedOut }: { account: Account; onCancel: () => void; onSignedOut: () => void }) {
  const [working, setWorking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const handle = atHandle(account.handle);

  const signOut = async () => {
    setWorking(true);
    setError(null);
    try {
      await api.removeAccount(account.id);
      onSignedOut();
    } catch (e) {
      setError(errText(e));
      setWorking(false);
    }
  };

  return (
    <ConfirmDialog
      idPrefix="sign-out"
      testPrefix="sign-out"
      title={`Sign out of ${handle}?`}
      text={
        <>
          Hearth signs out on {feedHost(account.server)}, forgets the saved sign-in and stops following this{' '}
          {kindLabel(account.kind)} timeline. Posts you liked stay in Hearth.
        </>
      }
      busy={working}
      confirmLabel="Sign out"
      busyLabel="Signing out…"
      error={error && `Could not sign out: ${error}`}
      onCancel={onCancel}
      onConfirm={() => void signOut()}
    >
      {account.pending_actions > 0 && (
        <p class="small" data-testid="sign-out-pending">
          {account.pending_actions === 1
            ? 'The action still waiting to be sent will not be sent.'
            : `The ${account.pending_actions.toLocaleString()} actions still waiting to be sent will not be sent.`}
        </p>
      )}
    </ConfirmDialog>
  );
}
