/** A labelled form control with the API's error for it beneath (matched on the field the API names). */
import type { ComponentChildren } from 'preact';

export function Field({ label, error, children, hint }: { label: string; error?: string | undefined; hint?: string; children: ComponentChildren }) {
  return (
    <label class={error ? 'field invalid' : 'field'}>
      <span class="label">{label}</span>
      {children}
      {hint && <span class="hint">{hint}</span>}
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </label>
  );
}
