/**
 * `docker top CONTAINER [ps OPTIONS]`: dockerd runs the host's `ps` with the options; Hearth's guest agent
 * lists the processes itself (pid, ppid, user, command, CPU time, RSS), so the options people pass are read
 * here and answered from those facts: none or `-ef` (ps's full format), BSD `aux` (what Hearth does not know,
 * such as %CPU or VSZ, is `-`, as ps prints a field it cannot read), and `-o`/`-eo`/`o` lists of the fields it
 * knows. Anything else is a 400 naming what is supported.
 * @module
 */
import type { GuestProcess } from '../../../sandbox/sandbox.ts';
import { invalidParameter } from '../errors.ts';

export interface TopTable {
  Titles: string[];
  Processes: string[][];
}

/** ps's field names (and aliases) this can fill, with their header. */
const FIELDS: Record<string, { title: string; value: (p: GuestProcess) => string }> = {
  pid: { title: 'PID', value: (p) => String(p.pid) },
  ppid: { title: 'PPID', value: (p) => String(p.ppid) },
  user: { title: 'USER', value: (p) => p.user },
  uname: { title: 'USER', value: (p) => p.user },
  comm: { title: 'COMMAND', value: (p) => comm(p.command) },
  ucomm: { title: 'COMMAND', value: (p) => comm(p.command) },
  args: { title: 'COMMAND', value: (p) => p.command },
  command: { title: 'COMMAND', value: (p) => p.command },
  cmd: { title: 'CMD', value: (p) => p.command },
  time: { title: 'TIME', value: (p) => cpuTime(p.cpuTimeMs) },
  cputime: { title: 'TIME', value: (p) => cpuTime(p.cpuTimeMs) },
  rss: { title: 'RSS', value: (p) => String(Math.round(p.rssBytes / 1024)) },
  rssize: { title: 'RSS', value: (p) => String(Math.round(p.rssBytes / 1024)) },
};

export function topTable(psArgs: string, procs: GuestProcess[]): TopTable {
  const args = psArgs.trim().split(/\s+/).filter(Boolean);
  const flags = args.join(' ');
  if (args.length === 0 || ['-ef', '-e', '-f', '-A', '-Af', '-fe'].includes(flags)) {
    return {
      Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
      Processes: procs.map((p) => [p.user, String(p.pid), String(p.ppid), '0', '-', '?', cpuTime(p.cpuTimeMs), p.command]),
    };
  }
  if (['aux', 'au', 'ux', 'axu', '-aux', 'auxw', 'auxww'].includes(flags)) {
    return {
      Titles: ['USER', 'PID', '%CPU', '%MEM', 'VSZ', 'RSS', 'TTY', 'STAT', 'START', 'TIME', 'COMMAND'],
      Processes: procs.map((p) => [p.user, String(p.pid), '-', '-', '-', String(Math.round(p.rssBytes / 1024)), '?', '-', '-', cpuTime(p.cpuTimeMs), p.command]),
    };
  }
  const list = outputList(args);
  if (list === undefined) throw refused(psArgs);
  const columns = list.map((spec) => {
    const [name, header] = splitHeader(spec);
    const field = FIELDS[name];
    if (!field) throw invalidParameter(`ps field ${JSON.stringify(name)} is not supported by Hearth's top: use ${Object.keys(FIELDS).join(', ')}`);
    return { title: header ?? field.title, value: field.value };
  });
  return { Titles: columns.map((c) => c.title), Processes: procs.map((p) => columns.map((c) => c.value(p))) };
}

/** The fields of `-o a,b`, `-eo a,b`, `o a,b` or `-o a -o b` (every process is listed either way). */
function outputList(args: string[]): string[] | undefined {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (['-e', '-A', 'a', 'x', 'ax'].includes(a)) continue;
    const joined = /^(?:-e?o|o|--format=?)(.*)$/.exec(a);
    if (!joined) return undefined;
    const value = joined[1] !== '' ? joined[1]! : args[++i];
    if (value === undefined) return undefined;
    out.push(...value.split(/[,\s]+/).filter(Boolean));
  }
  return out.length > 0 ? out : undefined;
}

/** `field=HEADER` sets the column's header, as ps. */
function splitHeader(spec: string): [string, string | undefined] {
  const eq = spec.indexOf('=');
  return eq < 0 ? [spec, undefined] : [spec.slice(0, eq), spec.slice(eq + 1)];
}

const refused = (psArgs: string) =>
  invalidParameter(`ps_args ${JSON.stringify(psArgs)} is not supported by Hearth: the guest's agent lists the processes; use none, -ef, aux, or -o with ${Object.keys(FIELDS).join(', ')}`);

/** The executable's name, as ps's comm: the last part of the first word, at most 15 characters. */
function comm(command: string): string {
  const first = command.split(' ')[0] ?? '';
  return (first.split('/').pop() ?? first).slice(0, 15);
}

/** `hh:mm:ss` as ps prints TIME. */
function cpuTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
