/**
 * A signal as a user names it to `kill`, parsed as Docker's `signal.ParseSignal` does: a number (1-64), or a
 * name with or without `SIG`, in any case (`SIGKILL`, `KILL`, `kill`, `9`). Anything else is InvalidArgument.
 * @module
 */
import { constants } from 'node:os';
import { invalidArgument } from '../errors.ts';

/** The highest signal number Linux has (SIGRTMAX). */
const MAX_SIGNAL = 64;

export function parseSignal(text: string, field = 'querystring/signal'): number {
  const s = text.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= MAX_SIGNAL) return n;
  } else {
    const n = constants.signals[(s.startsWith('SIG') ? s : `SIG${s}`) as keyof typeof constants.signals];
    if (n !== undefined) return n;
  }
  throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `${field}: invalid signal "${text}" (a name such as SIGTERM, TERM, or a number 1-${MAX_SIGNAL})`, field);
}

/** The signal's name (`SIGTERM`), or its number if it has none. */
export function signalName(n: number): string {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? String(n);
}
