/** The sign-in page: the manager has an API token; the one typed here is kept for this tab only (sessionStorage). */
import { useState } from 'preact/hooks';

export function SignInPage({ wrong, onToken }: { wrong: boolean; onToken: (t: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="signin">
      <h1>Hearth</h1>
      <form onSubmit={(e) => (e.preventDefault(), onToken(value))} aria-label="Sign in">
        <label class="field">
          <span class="label">API token</span>
          <input type="password" name="token" autocomplete="current-password" value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
          <span class="hint">The manager's HEARTH_API_TOKEN. Kept for this tab only.</span>
        </label>
        {wrong && <p class="error" role="alert">That token was refused.</p>}
        <button type="submit" class="primary">Sign in</button>
      </form>
    </main>
  );
}
