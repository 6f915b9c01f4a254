/** The image's StopSignal (`SIGQUIT`, `QUIT` or `3`) as a number; SIGTERM when absent or unknown, as Docker. */
import { constants } from 'node:os';

export function stopSignal(name: string | undefined): number {
  const s = name?.trim().toUpperCase();
  if (!s) return constants.signals.SIGTERM;
  if (/^\d+$/.test(s)) return Number(s);
  const key = (s.startsWith('SIG') ? s : `SIG${s}`) as keyof typeof constants.signals;
  return constants.signals[key] ?? constants.signals.SIGTERM;
}
