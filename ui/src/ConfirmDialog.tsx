// A modal "are you sure?" dialog (removing a feed, signing out of an account): a title, what will
// happen, optional extras (a checkbox, a warning), the error if the action failed, and Cancel and
// a danger button. Focus starts on Cancel; Escape, a click on the backdrop and Cancel all cancel,
// except while the action runs; the app's own shortcuts stay out of it.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

type Props = {
  /** Prefix of the title's and text's ids (`{idPrefix}-title`, `{idPrefix}-text`). */
  idPrefix: string;
  /** Prefix of the test ids: `{testPrefix}-dialog`, `-cancel`, `-confirm`. */
  testPrefix: string;
  title: string;
  /** What the action does, in plain words (the dialog's description). */
  text: ComponentChildren;
  /** The action is running: the buttons are disabled and the dialog stays. */
  busy: boolean;
  confirmLabel: string;
  busyLabel: string;
  /** Shown under the text when the action failed (already in words, e.g. "Could not sign out: …"). */
  error: string | null;
  onCancel: () => void;
  onConfirm: () => void;
  children?: ComponentChildren;
};

export function ConfirmDialog(props: Props) {
  const { idPrefix, testPrefix, busy, onCancel } = props;
  const dialog = useRef<HTMLDialogElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    cancelButton.current?.focus();
    return () => {
      if (d?.open) d.close();
    };
  }, []);

  return (
    <dialog
      ref={dialog}
      class="dialog confirm-dialog"
      role="alertdialog"
      aria-labelledby={`${idPrefix}-title`}
      aria-describedby={`${idPrefix}-text`}
      data-testid={`${testPrefix}-dialog`}
      onCancel={(e) => {
        // Escape: the dialog closes through `onCancel` (or stays while the action runs).
        e.preventDefault();
        if (!busy) onCancel();
      }}
      onKeyDown={(e) => {
        // The app's shortcuts (and its Escape, which leaves Settings) stay out of a modal dialog.
        e.stopPropagation();
        if (e.key === 'Escape') {
          e.preventDefault();
          if (!busy) onCancel();
        }
      }}
      onClick={(e) => {
        // A click on the backdrop (the dialog element itself) is a Cancel.
        if (e.target === dialog.current && !busy) onCancel();
      }}
    >
      <div class="dialog-body">
        <div class="dialog-head">
          <h2 id={`${idPrefix}-title`}>{props.title}</h2>
        </div>
        <p id={`${idPrefix}-text`}>{props.text}</p>
        {props.children}
        {props.error && (
          <p class="inline-error" role="alert">
            {props.error}
          </p>
        )}
        <div class="dialog-foot row">
          <span class="spacer" />
          <button ref={cancelButton} type="button" class="btn" data-testid={`${testPrefix}-cancel`} disabled={busy} onClick={onCancel}>
            Cancel
          </button>
          <button type="button" class="btn danger" data-testid={`${testPrefix}-confirm`} disabled={busy} onClick={props.onConfirm}>
            {busy ? props.busyLabel : props.confirmLabel}
          </button>
        </div>
      </div>
    </dialog>
  );
}
