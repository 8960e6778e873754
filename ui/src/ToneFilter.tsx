import type { ToneLabel } from './types';

export type ToneChoice = ToneLabel | null;

export const TONE_CHOICES: { value: ToneChoice; label: string }[] = [
  { value: null, label: 'All' },
  { value: 'positive', label: 'Positive' },
  { value: 'neutral', label: 'Neutral' },
  { value: 'negative', label: 'Negative' },
];

type Props = { value: ToneChoice; onChange: (t: ToneChoice) => void; disabled?: boolean };

/**
 * Search results → tone filter: a small segmented radio group (All / Positive / Neutral /
 * Negative). Arrow keys move between the choices, as in any radio group.
 */
export function ToneFilter({ value, onChange, disabled }: Props) {
  const index = Math.max(0, TONE_CHOICES.findIndex((c) => c.value === value));
  return (
    <div class="segmented small tone-filter" role="radiogroup" aria-label="Filter results by tone" data-testid="search-tone">
      {TONE_CHOICES.map((c, i) => {
        const on = i === index;
        return (
          <button
            key={c.label}
            type="button"
            role="radio"
            aria-checked={on}
            tabIndex={on ? 0 : -1}
            class={'seg' + (on ? ' on' : '')}
            data-tone={c.value ?? 'all'}
            disabled={disabled}
            onClick={() => {
              if (!on) onChange(c.value);
            }}
            onKeyDown={(e) => {
              const step = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? 1 : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? -1 : 0;
              if (!step) return;
              e.preventDefault();
              const next = (index + step + TONE_CHOICES.length) % TONE_CHOICES.length;
              onChange(TONE_CHOICES[next].value);
              const buttons = e.currentTarget.parentElement?.querySelectorAll<HTMLButtonElement>('[role="radio"]');
              buttons?.[next]?.focus();
            }}
          >
            {c.label}
          </button>
        );
      })}
    </div>
  );
}
