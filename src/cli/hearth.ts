#!/usr/bin/env node
/**
 * The `hearth` command (package.json `bin`, compiled to dist/cli/hearth.js). One command so far, `serve`;
 * each command is an entry of `COMMANDS` and loads what it needs only when it runs, so `--help` is instant.
 *
 * Exit status: 0 for success, `--help` and `--version`; 2 for a usage error (an unknown command or option,
 * no command); 1 when the command fails (`hearth: <why>` on stderr).
 * @module
 */
import { readFileSync } from 'node:fs';

interface Command {
  summary: string;
  /** Printed by `hearth <command> --help` under the usage line. */
  help: string;
  run(): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'run the manager in the foreground: the HTTP API and every container',
    help: `Serves the API on HEARTH_HOST:HEARTH_PORT (127.0.0.1:18080) with its state in HEARTH_DATA_DIR
(/var/lib/hearth). Settings: HEARTH_* variables, or a JSON file named by HEARTH_CONFIG (README.md,
docs/api.md#configuration). SIGINT or SIGTERM stops the manager; containers keep running, and the next
start adopts them. Runs as root: it creates a bridge, taps and firewall rules, and starts VMs.`,
    async run() {
      const { main, startFailureMessage } = await import('../main.ts');
      await main().catch((e: unknown) => {
        throw new Error(startFailureMessage(e));
      });
    },
  },
};

class UsageError extends Error {}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: hearth <command> [--help]

Runs every OCI container in its own microVM.

Commands:
${lines.join('\n')}

Options:
  -h, --help     show this help (or a command's, after the command)
  --version      print the version
`;
}

function version(): string {
  // package.json is two levels up from both src/cli/ and dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const isHelp = (arg: string | undefined) => arg === '-h' || arg === '--help';

/** Runs `hearth <args>`; resolves with the exit status for anything but a command that keeps running. */
async function hearth(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) throw new UsageError('no command given');
  if (isHelp(first) || (first === 'help' && rest.length === 0)) {
    process.stdout.write(usage());
    return 0;
  }
  if (first === '--version') {
    process.stdout.write(`hearth ${version()}\n`);
    return 0;
  }
  if (first === 'help') return hearth([...rest, '--help']);
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`);
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (command === undefined) throw new UsageError(`unknown command '${first}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  if (rest.length === 1 && isHelp(rest[0])) {
    process.stdout.write(`Usage: hearth ${first}\n\n${command.help}\n`);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`'${first}' takes no arguments (got '${rest.join(' ')}')`);
  await command.run();
  return 0;
}

hearth(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`hearth: ${e.message}\nRun 'hearth --help' for the commands.\n`);
      process.exit(2);
    }
    process.stderr.write(`hearth: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
