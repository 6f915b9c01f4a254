/**
 * Asks before an action that loses data (a modal <dialog>: focus stays in it, Escape cancels). `ask` opens it
 * and resolves true if the user confirms.
 */
import { useRef, useState } from 'preact/hooks';

export function useConfirm() {
  const ref = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState('');
  const resolver = useRef<((ok: boolean) => void) | undefined>(undefined);
  const ask = (question: string) =>
    new Promise<boolean>((resolve) => {
      resolver.current = resolve;
      setText(question);
      ref.current?.showModal();
    });
  const answer = (ok: boolean) => {
    ref.current?.close();
    resolver.current?.(ok);
    resolver.current = undefined;
  };
  const dialog = (
    <dialog ref={ref} class="confirm" onCancel={() => answer(false)} aria-label="Confirm">
      <p>{text}</p>
      <div class="row">
        <button type="button" onClick={() => answer(false)}>Cancel</button>
        <button type="button" class="danger" onClick={() => answer(true)}>Confirm</button>
      </div>
    </dialog>
  );
  return { ask, dialog };
}
