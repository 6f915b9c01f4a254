/** How numbers and times read on the pages. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export const time = (iso: string) => new Date(iso).toLocaleString();

export const shortId = (id: string) => id.slice(0, 8);

/** The URL a published port answers on, seen from this browser. */
export function portUrl(p: { host_ip: string | null; host_port: number }): string {
  const host = !p.host_ip || p.host_ip === '0.0.0.0' ? location.hostname : p.host_ip;
  return `http://${host.includes(':') ? `[${host}]` : host}:${p.host_port}/`;
}
