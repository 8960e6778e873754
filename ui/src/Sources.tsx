// Settings → Subscriptions: the RSS, Atom and JSON feeds Hearth follows. Adding a feed by its
// address (checked here first, then fetched and checked by the backend), the list of feeds with
// where each stands in plain words, and per feed Refresh, Rename, Tags, Pause/Resume and Remove
// (asked first in a dialog, liked posts kept unless the user says otherwise). "Refresh all" shows
// the refresh the backend pushes as it goes, and OPML files move the subscriptions between Hearth
// and other feed readers.
import { ConfirmDialog } from './ConfirmDialog';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, onProgress, readAsText } from './api';
import type { OpmlImport, RemovedSource, SourceChange, SourceInfo, SyncStatus } from './types';
import {
  asSentence,
  feedHost,
  opmlImportText,
  postCountText,
  refreshedText,
  removedText,
  sourceStateText,
  syncText,
} from './format';
import { checkFeedAddress, parseTags } from './validate';

/** The name "Export OPML" saves the file under. */
export const OPML_FILE_NAME = 'hearth-subscriptions.opml';

/** How often the relative times ("Synced 5 minutes ago") are brought up to date. */
const CLOCK_MS = 30_000;

/** How long the exported file's blob: URL is kept, so the download has surely started. */
const REVOKE_AFTER_MS = 10_000;

function errText(e: unknown): string {
  return e instanceof ApiError ? e.message : 'Something went wrong.';
}

/** Saves `text` as a file through the browser's download (a blob: URL and an `<a download>`). */
export function saveTextFile(text: string, fileName: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
}

type SourcesProps = {
  /** The time the relative times are counted from (for tests); the clock by default. */
  clock?: () => Date;
};

/**
 * Settings → Subscriptions. The list is fetched once, then again when a refresh moves on (a feed
 * done, or the whole refresh finished); changes made here are shown from the backend's replies.
 */
export function SourcesSection({ clock = () => new Date() }: SourcesProps) {
  const [sources, setSources] = useState<SourceInfo[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [sync, setSync] = useState<SyncStatus | null>(null);
  const [starting, setStarting] = useState(false);
  const [syncError, setSyncError] = useState<string | null>(null);
  const [progressError, setProgressError] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const [now, setNow] = useState(clock);
  const [removing, setRemoving] = useState<SourceInfo | null>(null);
  const listTitle = useRef<HTMLHeadingElement>(null);
  // The Remove button that opened the dialog: focus goes back to it when the dialog is cancelled.
  const removeOpener = useRef<HTMLElement | null>(null);
  // Where the focus goes once the dialog has closed (a modal dialog keeps it while it is open).
  const focusAfterDialog = useRef<HTMLElement | null>(null);

  // Each fetch of the list is numbered; a reply to one that is no longer the latest is dropped.
  const generation = useRef(0);
  const loading = useRef(false);
  // Pushed refresh updates so far: a `syncNow` reply older than one of them is dropped.
  const pushes = useRef(0);
  const latestSync = useRef<SyncStatus | null>(null);

  const load = () => {
    const mine = ++generation.current;
    loading.current = true;
    setLoadError(null);
    api.sources().then(
      (list) => {
        if (mine !== generation.current) return;
        loading.current = false;
        setSources(Array.isArray(list) ? list : []);
        setNow(clock());
      },
      (e) => {
        if (mine !== generation.current) return;
        loading.current = false;
        setLoadError(errText(e));
      },
    );
  };

  /** Applies a change made here; a list still being fetched may predate it, so it is fetched again. */
  const change = (update: (list: SourceInfo[]) => SourceInfo[]) => {
    if (loading.current) load();
    setSources((list) => (list ? update(list) : list));
  };

  /** Shows a refresh's state; fetches the list again when a feed has been refreshed or the refresh ended. */
  const follow = (next: SyncStatus) => {
    const before = latestSync.current;
    latestSync.current = next;
    setSync(next);
    const ended = before?.state === 'syncing' && next.state === 'idle';
    const moved = before?.state === 'syncing' && next.state === 'syncing' && next.done > before.done;
    if (ended || moved) load();
  };

  useEffect(() => {
    load();
    const tick = setInterval(() => setNow(clock()), CLOCK_MS);
    const stop = onProgress(
      (p) => {
        if (!p.sync) return;
        pushes.current += 1;
        setProgressError(null);
        follow(p.sync);
      },
      (e) => setProgressError(errText(e)),
    );
    return () => {
      clearInterval(tick);
      stop();
    };
  }, []);

  /** Starts refreshing one feed, or all of them; rejects when the backend refuses. */
  const refresh = async (sourceId?: number) => {
    const before = pushes.current;
    const reply = await api.syncNow(sourceId);
    if (pushes.current === before) follow(reply);
  };
  const refreshAll = async () => {
    setStarting(true);
    setSyncError(null);
    setNotice('');
    try {
      await refresh();
    } catch (e) {
      setSyncError(errText(e));
    } finally {
      setStarting(false);
    }
  };

  const replace = (fresh: SourceInfo) => change((list) => list.map((s) => (s.id === fresh.id ? fresh : s)));

  const added = (fresh: SourceInfo) => {
    // Before the list has arrived (or when it could not be read) it is simply fetched again.
    if (sources === null) load();
    else change((list) => [...list.filter((s) => s.id !== fresh.id), fresh]);
    setNotice(`Subscribed to ${fresh.name}.`);
  };

  const removed = (gone: SourceInfo, result: RemovedSource) => {
    // The row and its buttons are gone: focus goes to the list's heading.
    focusAfterDialog.current = listTitle.current;
    setRemoving(null);
    change((list) => list.filter((s) => s.id !== gone.id));
    setNotice(`Unsubscribed from ${gone.name}. ${removedText(result)}`);
  };

  const cancelRemove = () => {
    focusAfterDialog.current = removeOpener.current;
    setRemoving(null);
  };

  useEffect(() => {
    if (removing || !focusAfterDialog.current) return;
    focusAfterDialog.current.focus();
    focusAfterDialog.current = null;
    removeOpener.current = null;
  }, [removing]);

  const syncing = sync?.state === 'syncing';
  const total = sync ? Math.max(0, sync.total) : 0;
  const done = sync ? Math.max(0, Math.min(sync.done, total)) : 0;

  return (
    <div class="sources" data-testid="sources">
      <p class="muted small">
        Follow sites through their RSS, Atom or JSON feeds. Hearth fetches them itself, from this device, and adds
        their new posts to your feed.
      </p>
      <AddFeed onAdded={added} />

      <div class="sources-head">
        <h3 id="sources-list-title" ref={listTitle} tabIndex={-1}>
          Your feeds
        </h3>
        <button
          type="button"
          class="btn small"
          data-testid="refresh-all"
          disabled={starting || syncing || !sources || sources.length === 0}
          onClick={() => void refreshAll()}
        >
          {syncing ? 'Refreshing…' : 'Refresh all'}
        </button>
      </div>
      <div class="sources-progress" data-testid="sync-progress" data-state={syncing ? 'syncing' : 'idle'}>
        <p class="small" id="sources-sync-state" aria-live="polite">
          {sync ? syncText(sync) : ''}
        </p>
        {syncing &&
          (total > 0 ? (
            <progress key="d" aria-labelledby="sources-sync-state" aria-valuetext={refreshedText(done, total)} max={total} value={done} />
          ) : (
            <progress key="i" aria-labelledby="sources-sync-state" />
          ))}
        {syncError && (
          <p class="inline-error" role="alert">
            Could not start refreshing: {syncError}
          </p>
        )}
        {syncing && progressError && (
          <p class="inline-error" role="alert">
            Could not follow the refresh: {progressError}
          </p>
        )}
      </div>
      <p class="small sources-notice" role="status" data-testid="sources-notice">
        {notice}
      </p>

      {loadError ? (
        <p class="inline-error" role="alert">
          Could not list your subscriptions: {loadError}{' '}
          <button type="button" class="link-btn" onClick={load}>
            Retry
          </button>
        </p>
      ) : !sources ? (
        <p class="muted">Loading…</p>
      ) : sources.length === 0 ? (
        <p class="muted" data-testid="sources-empty">
          No subscriptions yet. Add a feed by its address or import an OPML file from another reader.
        </p>
      ) : (
        <ul class="source-list" aria-labelledby="sources-list-title">
          {sources.map((s) => (
            <SourceRow
              key={s.id}
              source={s}
              now={now}
              fetching={syncing && (sync?.current_source_id ?? null) === s.id}
              syncing={syncing}
              onSaved={replace}
              onRefresh={() => refresh(s.id)}
              onRemove={(opener) => {
                removeOpener.current = opener;
                setRemoving(s);
              }}
            />
          ))}
        </ul>
      )}

      <h3>Move between readers</h3>
      <OpmlTools hasSources={(sources?.length ?? 0) > 0} onImported={load} />

      {removing && <RemoveDialog source={removing} onCancel={cancelRemove} onRemoved={(r) => removed(removing, r)} />}
    </div>
  );
}

/** "Add a feed": its address, checked before it is sent; the backend's refusal shown under it. */
function AddFeed({ onAdded }: { onAdded: (source: SourceInfo) => void }) {
  const [address, setAddress] = useState('');
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const submit = async () => {
    if (adding) return;
    const checked = checkFeedAddress(address);
    if (!checked.ok) {
      setError(checked.message);
      input.current?.focus();
      return;
    }
    setAdding(true);
    setError(null);
    try {
      const source = await api.addSource(checked.url);
      setAddress('');
      onAdded(source);
    } catch (e) {
      setError(`Could not add that feed: ${errText(e)}`);
    } finally {
      setAdding(false);
    }
  };

  return (
    <form
      class="add-feed"
      noValidate
      aria-busy={adding}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label for="add-feed-url">Add a feed</label>
      <div class="row">
        <input
          ref={input}
          id="add-feed-url"
          type="url"
          inputMode="url"
          autoComplete="off"
          spellcheck={false}
          data-testid="add-feed-url"
          placeholder="https://example.com/feed.xml"
          value={address}
          readOnly={adding}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'add-feed-error add-feed-help' : 'add-feed-help'}
          onInput={(e) => {
            setAddress((e.target as HTMLInputElement).value);
            setError(null);
          }}
        />
        <button type="submit" class="btn primary" data-testid="add-feed-submit" disabled={adding}>
          {adding && <span class="spinner" aria-hidden="true" />}
          {adding ? 'Adding…' : 'Add'}
        </button>
      </div>
      <p class="muted small" id="add-feed-help">
        The address of an RSS, Atom or JSON feed, or of a site that has one.
      </p>
      {error && (
        <p class="inline-error" id="add-feed-error" role="alert" data-testid="add-feed-error">
          {error}
        </p>
      )}
    </form>
  );
}

type Editing = 'name' | 'tags';

type RowProps = {
  source: SourceInfo;
  now: Date;
  /** The running refresh is fetching this feed now. */
  fetching: boolean;
  /** A refresh is running (its own Refresh waits until it ends). */
  syncing: boolean;
  onSaved: (source: SourceInfo) => void;
  onRefresh: () => Promise<void>;
  /** Asks to remove the feed; `opener` takes the focus back if the user changes their mind. */
  onRemove: (opener: HTMLElement) => void;
};

/** The words a failed action starts with in a row's error line. */
const FAILED: Record<string, string> = {
  name: 'Could not rename',
  tags: 'Could not change the tags',
  pause: 'Could not pause',
  resume: 'Could not resume',
  refresh: 'Could not refresh',
};

/** One feed: its name, address, tags and state, its actions, and the inline rename or tags form. */
function SourceRow({ source, now, fetching, syncing, onSaved, onRefresh, onRemove }: RowProps) {
  const [editing, setEditing] = useState<Editing | null>(null);
  const [draft, setDraft] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  const tagsButton = useRef<HTMLButtonElement>(null);
  // Which button takes the focus back once the form has closed and the buttons are enabled again.
  const refocus = useRef<Editing | null>(null);

  useEffect(() => {
    if (editing) {
      input.current?.focus();
      input.current?.select();
    }
  }, [editing]);
  useEffect(() => {
    if (refocus.current && !editing && !busy) {
      (refocus.current === 'name' ? renameButton : tagsButton).current?.focus();
      refocus.current = null;
    }
  }, [editing, busy]);

  const open = (what: Editing) => {
    setError(null);
    setDraft(what === 'name' ? source.name : source.tags.join(', '));
    setEditing(what);
  };
  const close = () => {
    refocus.current = editing;
    setEditing(null);
  };

  /** Sends a change; `done` runs once the backend took it. */
  const save = async (what: string, change: SourceChange, done?: () => void) => {
    setBusy(true);
    setError(null);
    try {
      onSaved(await api.updateSource(source.id, change));
      done?.();
    } catch (e) {
      setError(`${FAILED[what]}: ${errText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const submit = () => {
    if (editing === 'name') {
      const name = draft.trim().replace(/\s+/g, ' ');
      if (!name) return setError('A feed needs a name.');
      if (name === source.name) return close();
      void save('name', { name }, close);
    } else if (editing === 'tags') {
      const tags = parseTags(draft);
      if (tags.join('\n') === source.tags.join('\n')) return close();
      void save('tags', { tags }, close);
    }
  };

  const refresh = async () => {
    setBusy(true);
    setError(null);
    try {
      await onRefresh();
    } catch (e) {
      setError(`${FAILED.refresh}: ${errText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const id = `source-${source.id}`;
  const stateKey = fetching ? 'syncing' : source.paused ? 'paused' : source.state;
  const name = source.name;
  return (
    <li class="source-row" data-testid="source-row" data-source-id={String(source.id)} data-state={stateKey}>
      <div class="source-main">
        <div class="source-head">
          <strong class="source-name" id={`${id}-name`}>
            {name}
          </strong>
          <span class="muted small source-host" title={source.url}>
            {feedHost(source.url)}
          </span>
        </div>
        <p class={`source-state small state-${stateKey}`} data-testid="source-state">
          {sourceStateText(source, now, fetching)}
        </p>
        <div class="source-meta muted small">
          <span data-testid="source-count">{postCountText(source.item_count)}</span>
          {source.tags.length > 0 && (
            <ul class="tag-list" aria-label="Tags" data-testid="source-tags">
              {source.tags.map((t) => (
                <li key={t} class="tag">
                  {t}
                </li>
              ))}
            </ul>
          )}
        </div>
        {editing && (
          <form
            id={`${id}-edit`}
            class="source-edit"
            onSubmit={(e) => {
              e.preventDefault();
              submit();
            }}
          >
            <label for={`${id}-edit-input`}>{editing === 'name' ? `New name for ${name}` : `Tags for ${name}, separated by commas`}</label>
            <div class="row">
              <input
                ref={input}
                id={`${id}-edit-input`}
                type="text"
                data-testid="source-edit-input"
                value={draft}
                maxLength={editing === 'name' ? 200 : 500}
                readOnly={busy}
                placeholder={editing === 'tags' ? 'e.g. news, science' : undefined}
                onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
                onKeyDown={(e) => {
                  if (e.key === 'Escape' && !busy) {
                    // Handled here, so the app does not also leave Settings.
                    e.preventDefault();
                    e.stopPropagation();
                    close();
                  }
                }}
              />
              <button type="submit" class="btn small primary" data-testid="source-edit-save" disabled={busy}>
                {busy ? 'Saving…' : 'Save'}
              </button>
              <button type="button" class="btn small" data-testid="source-edit-cancel" disabled={busy} onClick={close}>
                Cancel
              </button>
            </div>
          </form>
        )}
        {error && (
          <p class="inline-error" role="alert" data-testid="source-error">
            {error}
          </p>
        )}
      </div>
      <div class="source-actions" role="group" aria-label={`Actions for ${name}`}>
        <button
          type="button"
          class="btn small"
          data-testid="source-refresh"
          aria-label={`Refresh ${name}`}
          disabled={busy || syncing}
          onClick={() => void refresh()}
        >
          Refresh
        </button>
        <button
          ref={renameButton}
          type="button"
          class="btn small"
          data-testid="source-rename"
          aria-label={`Rename ${name}`}
          aria-expanded={editing === 'name'}
          aria-controls={editing === 'name' ? `${id}-edit` : undefined}
          disabled={busy}
          onClick={() => (editing === 'name' ? close() : open('name'))}
        >
          Rename
        </button>
        <button
          ref={tagsButton}
          type="button"
          class="btn small"
          data-testid="source-tags-edit"
          aria-label={`Tags for ${name}`}
          aria-expanded={editing === 'tags'}
          aria-controls={editing === 'tags' ? `${id}-edit` : undefined}
          disabled={busy}
          onClick={() => (editing === 'tags' ? close() : open('tags'))}
        >
          Tags
        </button>
        <button
          type="button"
          class="btn small"
          data-testid="source-pause"
          aria-label={`${source.paused ? 'Resume' : 'Pause'} ${name}`}
          disabled={busy}
          onClick={() => void save(source.paused ? 'resume' : 'pause', { paused: !source.paused })}
        >
          {source.paused ? 'Resume' : 'Pause'}
        </button>
        <button
          type="button"
          class="btn small danger-text"
          data-testid="source-remove"
          aria-label={`Remove ${name}`}
          aria-haspopup="dialog"
          disabled={busy}
          onClick={(e) => onRemove(e.currentTarget as HTMLElement)}
        >
          Remove
        </button>
      </div>
    </li>
  );
}

type RemoveProps = {
  source: SourceInfo;
  onCancel: () => void;
  onRemoved: (result: RemovedSource) => void;
};

/**
 * "Remove <feed>?": a modal dialog that deletes the feed's posts, keeping the liked ones unless
 * "Also remove posts I liked" is ticked. Focus starts on Cancel; Escape cancels.
 */
function RemoveDialog({ source, onCancel, onRemoved }: RemoveProps) {
  const [alsoLiked, setAlsoLiked] = useState(false);
  const [removing, setRemoving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const remove = async () => {
    setRemoving(true);
    setError(null);
    try {
      const result = await api.removeSource(source.id, !alsoLiked);
      onRemoved(result);
    } catch (e) {
      setError(errText(e));
      setRemoving(false);
    }
  };

  return (
    <ConfirmDialog
      idPrefix="remove-source"
      testPrefix="remove"
      title={`Remove ${source.name}?`}
      text="Hearth stops following this feed and deletes its posts. Posts you liked stay, unless you choose otherwise."
      busy={removing}
      confirmLabel="Remove"
      busyLabel="Removing…"
      error={error && `Could not remove the feed: ${error}`}
      onCancel={onCancel}
      onConfirm={() => void remove()}
    >
      <label class="check">
        <input
          type="checkbox"
          data-testid="remove-liked"
          checked={alsoLiked}
          disabled={removing}
          onChange={(e) => setAlsoLiked((e.target as HTMLInputElement).checked)}
        />
        Also remove posts I liked
      </label>
    </ConfirmDialog>
  );
}

/** OPML import (a file chosen from disk) and export (a file saved through the browser). */
function OpmlTools({ hasSources, onImported }: { hasSources: boolean; onImported: () => void }) {
  const fileInput = useRef<HTMLInputElement>(null);
  const [importing, setImporting] = useState(false);
  const [result, setResult] = useState<OpmlImport | null>(null);
  const [importError, setImportError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);
  const [exported, setExported] = useState('');

  const importFile = async (file: File | undefined) => {
    if (!file) return;
    setImporting(true);
    setImportError(null);
    setResult(null);
    setExported('');
    try {
      const opml = await readAsText(file);
      const answer = await api.importOpml(opml);
      setResult({ ...answer, errors: answer.errors ?? [] });
      onImported();
    } catch (e) {
      setImportError(errText(e));
    } finally {
      setImporting(false);
    }
  };

  const exportFile = async () => {
    setExporting(true);
    setExportError(null);
    setExported('');
    try {
      saveTextFile(await api.exportOpml(), OPML_FILE_NAME, 'text/x-opml');
      setExported(`Saved your subscriptions as ${OPML_FILE_NAME}.`);
    } catch (e) {
      setExportError(errText(e));
    } finally {
      setExporting(false);
    }
  };

  return (
    <div class="opml" data-testid="opml">
      <p class="muted small">
        Most feed readers can export and import their subscriptions as an OPML file.
      </p>
      <div class="row">
        <input
          ref={fileInput}
          type="file"
          accept=".opml,.xml,text/x-opml,application/xml,text/xml"
          hidden
          data-testid="opml-file"
          onChange={(e) => {
            const picked = (e.target as HTMLInputElement).files?.[0];
            (e.target as HTMLInputElement).value = '';
            void importFile(picked);
          }}
        />
        <button
          type="button"
          class="btn small"
          data-testid="opml-import"
          disabled={importing}
          onClick={() => fileInput.current?.click()}
        >
          {importing ? 'Importing…' : 'Import OPML…'}
        </button>
        <button
          type="button"
          class="btn small"
          data-testid="opml-export"
          disabled={exporting || !hasSources}
          onClick={() => void exportFile()}
        >
          {exporting ? 'Exporting…' : 'Export OPML'}
        </button>
      </div>
      <p class="small opml-result" role="status" data-testid="opml-result">
        {result ? opmlImportText(result) : exported}
      </p>
      {result && result.errors.length > 0 && (
        <ul class="opml-errors small" aria-label="Feeds that could not be added" data-testid="opml-errors">
          {result.errors.map((e, i) => (
            <li key={i}>
              <span class="opml-error-url">{e.url}</span>: {asSentence(e.message.trim() || 'it could not be added')}
            </li>
          ))}
        </ul>
      )}
      {importError && (
        <p class="inline-error" role="alert">
          Could not import that file: {importError}
        </p>
      )}
      {exportError && (
        <p class="inline-error" role="alert">
          Could not export: {exportError}
        </p>
      )}
    </div>
  );
}
