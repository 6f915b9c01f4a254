/**
 * Tables as docker prints them: a header of capitalised titles, then one row per item, each column as wide
 * as its widest cell (measured in terminal columns, so a long or non-ASCII name keeps the next column
 * straight) and three spaces between columns; the last column is not padded.
 * @module
 */

/** Terminal columns a string takes: East Asian wide and fullwidth characters take two, combining marks none. */
export function displayWidth(s: string): number {
  let width = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || /\p{Mn}|\p{Me}|\u200b|\u200d/u.test(ch)) continue;
    width += isWide(cp) ? 2 : 1;
  }
  return width;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

const GAP = '   ';

/**
 * A cell as one line of plain text: control characters (a newline or an escape sequence in a container's
 * args, say) are shown escaped, so no cell can break a row or drive the terminal.
 */
export function plainCell(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** The table as text, one line per row plus the header, each ending with a newline. */
export function formatTable(headers: string[], table: string[][]): string {
  const rows = table.map((r) => r.map(plainCell));
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - displayWidth(cell))))
      .join(GAP)
      .trimEnd();
  return [headers, ...rows].map((r) => `${line(r)}\n`).join('');
}

/** A cell no longer than `max` columns, cut with `…` as docker cuts a long command. */
export function truncate(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (displayWidth(out + ch) > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}
