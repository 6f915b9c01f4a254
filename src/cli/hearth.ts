#!/usr/bin/env node
/**
 * The `hearth` command (package.json `bin`, compiled to dist/cli/hearth.js): the verbs of program.ts, and
 * the exit status scripts rely on:
 * - 0 done (and `--help`, `--version`);
 * - 1 a command failed (`hearth: <why>` on stderr: the API's message and the field it names);
 * - 2 bad usage (an unknown command or option, a missing argument);
 * - `run` (not `-d`) and `exec`: the process's own exit status; 125 when Hearth failed, bad flags included,
 *   as docker's 125 (so a process's own 1 or 2 is never mistaken for Hearth's).
 * @module
 */
import { CommanderError } from 'commander';
import { buildProgram, type Result } from './program.ts';

/** `run` and `exec` pass on the process's status, so Hearth's own failures take one a process rarely uses. */
const PROCESS_VERBS = new Set(['run', 'exec']);
const HEARTH_FAILED = 125;

function verbOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--host') i++;
    else if (!args[i]!.startsWith('-')) return args[i];
  }
  return undefined;
}

async function hearth(args: string[]): Promise<number> {
  const result: Result = { status: 0 };
  const program = buildProgram(result);
  if (args.length === 0) {
    process.stderr.write(`hearth: no command given\n${program.helpInformation()}`);
    return 2;
  }
  const processVerb = PROCESS_VERBS.has(verbOf(args) ?? '');
  try {
    await program.parseAsync(args, { from: 'user' });
    return result.status;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end with status 0; every other commander error is a usage error, already printed.
      if (e.exitCode === 0) return 0;
      return processVerb ? HEARTH_FAILED : 2;
    }
    const { CliError } = await import('./client.ts');
    process.stderr.write(`hearth: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof CliError && e.exitCode !== undefined) return e.exitCode;
    return processVerb ? HEARTH_FAILED : 1;
  }
}

// `hearth ps | head -1`: a reader that went away is no error of the command's.
for (const out of [process.stdout, process.stderr]) {
  out.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}

hearth(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
});
