/**
 * One path spelt the many ways an attacker would try on a router: each letter or digit percent-encoded
 * (upper and lower case hex), all of them, the first of each segment, doubled slashes, dot segments (also
 * encoded), a trailing slash, `;`, `?` and `#` suffixes, encoded slashes, upper case, a leading `//`.
 */
const pct = (c: string, lower: boolean) => {
  const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
  return '%' + (lower ? hex.toLowerCase() : hex.toUpperCase());
};

export function spellings(path: string): string[] {
  const out = new Set<string>([path]);
  for (const lower of [false, true]) {
    for (let i = 0; i < path.length; i++) {
      if (/[a-zA-Z0-9]/.test(path[i]!)) out.add(path.slice(0, i) + pct(path[i]!, lower) + path.slice(i + 1));
    }
    out.add(path.replace(/[a-zA-Z0-9]/g, (c) => pct(c, lower)));
    out.add(path.replace(/(^|\/)([a-zA-Z0-9])/g, (_, s: string, c: string) => s + pct(c, lower)));
  }
  const segments = path.split('/').slice(1);
  for (let i = 0; i <= segments.length; i++) {
    const before = '/' + segments.slice(0, i).join('/');
    const rest = segments.slice(i).join('/');
    const join = (mid: string) => (before === '/' ? '' : before) + mid + rest;
    out.add(join('//'));
    out.add(join('/./'));
    out.add(join('/x/../'));
    out.add(join('/%2e/'));
    out.add(join('/%2E%2E/'));
  }
  for (const suffix of ['/', '//', ';', ';x=1', '?', '?x=1', '/.', '/..', '%3F', '%23', '%2F', '#x']) out.add(path + suffix);
  out.add(path.replaceAll('/', '%2F'));
  out.add(path.toUpperCase());
  out.add('/' + path);
  return [...out];
}
