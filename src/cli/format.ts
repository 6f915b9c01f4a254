/**
 * How the CLI words times and sizes, as docker does: "2 minutes ago", "Up 5 seconds", "12.3MB".
 * @module
 */

/** Docker's `units.HumanDuration`: "Less than a second", "5 seconds", "About a minute", "3 hours", ... */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** "3 minutes ago" for an ISO time; empty for none. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  return `${humanDuration(Math.max(0, now - Date.parse(iso)))} ago`;
}

/** Decimal units with three significant digits, as docker's `units.HumanSize`: "0B", "1.5kB", "12.3MB". */
export function humanSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '--';
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(3))}${units[i]}`;
}

/** Binary units, as `docker stats` shows memory: "12.5MiB". */
export function binarySize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '--';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 2).replace(/\.00$/, '')}${units[i]}`;
}

/** JSON for `--json` and `inspect`: two-space indented, one trailing newline. */
export const asJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
