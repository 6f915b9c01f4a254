/**
 * The `hearth` command line, declared with commander: every verb, its flags and its help. A verb's code is
 * loaded only when it runs (`import()`), so `hearth --help` loads commander alone, and `serve` alone loads
 * the manager (main.ts). Each action leaves the exit status in `result.status`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { Client } from './client.ts';

export interface Result {
  status: number;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const integer = (flag: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be a whole number`);
  return Number(value);
};

function version(): string {
  // package.json is two levels up from both src/cli/ and dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(result: Result): Command {
  const program = new Command('hearth')
    .description('Runs every OCI container in its own microVM.')
    .version(`hearth ${version()}`, '--version', 'print the version')
    .helpOption('-h, --help', 'show help (also after a command)')
    .option('--host <url>', 'the manager (env HEARTH_HOST; default http://127.0.0.1:18080)')
    .enablePositionalOptions()
    // Before any command is added: each copies these settings when it is made.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`hearth: ${text.replace(/^error: /, '')}`) })
    .showHelpAfterError("Run 'hearth --help' for the commands, 'hearth <command> --help' for one.")
    .addHelpText(
      'after',
      `
Environment: HEARTH_HOST (the manager: a URL, or the host the manager listens on, with HEARTH_PORT),
HEARTH_API_TOKEN (the manager's API token, if it has one).
Exit status: 0 done; 1 a command failed; 2 bad usage; run and exec: the process's own status, or 125
when Hearth failed (bad flags included). README.md#the-hearth-cli has the details.`,
    );

  /** A verb that talks to the manager: `--host` after it too, then its code, loaded when it runs. */
  const verb = (name: string, summary: string) =>
    program.command(name).description(summary).option('--host <url>', 'the manager (env HEARTH_HOST)');
  const client = async (cmd: Command): Promise<Client> => {
    const { Client, managerUrl } = await import('./client.ts');
    return new Client(managerUrl(cmd.optsWithGlobals<{ host?: string }>().host));
  };
  const act =
    <A extends unknown[]>(run: (client: Client, cmd: Command, ...args: A) => Promise<number>) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      result.status = await run(await client(cmd), cmd, ...(args.slice(0, -2) as A));
    };

  verb('run', 'create a container from an image and run it')
    .argument('<image>', 'the image, e.g. nginx:alpine')
    .argument('[args...]', "the process's arguments (replace the image's Cmd); options after IMAGE are theirs")
    .option('-d, --detach', 'run in the background and print the container id')
    .option('-i, --interactive', 'keep stdin open and forward it')
    .option('-t, --tty', 'give the process a terminal')
    .option('-p, --publish <[ip:]host:container[/proto]>', 'publish a port (repeatable)', collect)
    .option('-e, --env <name[=value]>', 'set a variable (repeatable)', collect)
    .option('-v, --volume <[name|dir:]path[:ro]>', 'mount a volume or host directory (repeatable)', collect)
    .option('--name <name>', 'the container name (default: the image name and 6 hex digits)')
    .option('--restart <policy>', 'no, always, unless-stopped, on-failure[:max]')
    .option('--memory <size>', 'memory limit, e.g. 512m, 1g')
    .option('--cpus <n>', 'CPUs, e.g. 1 or 0.5')
    .option('--rm', 'delete the container when its process ends')
    .passThroughOptions()
    .action(
      act(async (c, cmd, image: string, args: string[]) => (await import('./verbs/run.ts')).run(c, image, args, cmd.opts())),
    );

  verb('exec', 'run a command in a running container')
    .argument('<container>', 'name or id (or a unique prefix)')
    .argument('<cmd...>', 'the command and its arguments')
    .option('-d, --detach', 'start it and return')
    .option('-i, --interactive', 'forward stdin')
    .option('-t, --tty', 'give the command a terminal')
    .option('-e, --env <name[=value]>', 'set a variable (repeatable)', collect)
    .option('-u, --user <user>', 'user name or uid[:gid]')
    .option('-w, --workdir <dir>', 'working directory')
    .passThroughOptions()
    .action(act(async (c, cmd, ref: string, argv: string[]) => (await import('./verbs/exec.ts')).exec(c, ref, argv, cmd.opts())));

  verb('ps', 'list containers (running ones; -a for all)')
    .option('-a, --all', 'every container, in any state')
    .option('-q, --quiet', 'ids only')
    .option('--json', 'the API items, as JSON')
    .action(act(async (c, cmd) => (await import('./verbs/containers.ts')).ps(c, cmd.opts())));

  verb('logs', "print a container's output")
    .argument('<container>')
    .option('-f, --follow', 'keep printing new output until the process ends')
    .option('-n, --tail <lines>', "only the last lines ('all' for everything)")
    .option('-t, --timestamps', 'prefix each line with its time')
    .option('--since <time>', 'lines at or after this time (RFC 3339 or Unix seconds)')
    .action(act(async (c, cmd, ref: string) => (await import('./verbs/logs.ts')).logs(c, ref, cmd.opts())));

  for (const [name, summary] of [
    ['start', 'start stopped containers'],
    ['stop', 'stop running containers (the stop signal, then SIGKILL after the grace time)'],
    ['restart', 'stop then start containers'],
  ] as const) {
    const cmd = verb(name, summary).argument('<containers...>');
    if (name !== 'start') cmd.option('-t, --time <seconds>', 'grace time before SIGKILL (default 10)', integer('--time'));
    cmd.action(act(async (c, cmd, refs: string[]) => (await import('./verbs/containers.ts'))[name](c, refs, cmd.opts())));
  }

  verb('rm', 'delete containers')
    .argument('<containers...>')
    .option('-f, --force', 'delete running ones too (their VM is killed)')
    .action(act(async (c, cmd, refs: string[]) => (await import('./verbs/containers.ts')).rm(c, refs, cmd.opts())));

  verb('inspect', 'print containers, images or volumes as JSON')
    .argument('<names...>')
    .action(act(async (c, _cmd, refs: string[]) => (await import('./verbs/containers.ts')).inspect(c, refs)));

  verb('pull', "download an image (a progress bar on a terminal, a line per step otherwise)")
    .argument('<image>')
    .option('--json', "the API's progress lines, as they come")
    .action(act(async (c, cmd, image: string) => (await import('./verbs/pull.ts')).pull(c, image, cmd.opts())));

  verb('images', 'list images')
    .option('-q, --quiet', 'image ids only')
    .option('--json', 'the API items, as JSON')
    .action(act(async (c, cmd) => (await import('./verbs/images.ts')).images(c, cmd.opts())));

  verb('rmi', 'remove images')
    .argument('<images...>')
    .option('-f, --force', 'untag it even if containers use it')
    .action(act(async (c, cmd, refs: string[]) => (await import('./verbs/images.ts')).rmi(c, refs, cmd.opts())));

  const volume = program.command('volume').description('manage volumes: ls, create, rm');
  const volumeVerb = (name: string, summary: string) => volume.command(name).description(summary).option('--host <url>', 'the manager (env HEARTH_HOST)');
  volumeVerb('ls', 'list volumes')
    .alias('list')
    .option('-q, --quiet', 'names only')
    .option('--json', 'the API items, as JSON')
    .action(act(async (c, cmd) => (await import('./verbs/volumes.ts')).volumeLs(c, cmd.opts())));
  volumeVerb('create', 'create a named volume')
    .argument('<name>')
    .option('--size <mib>', 'size in MiB (default: the manager\'s, 10240)')
    .option('-l, --label <key=value>', 'a label (repeatable)', collect)
    .option('--json', 'the API item, as JSON')
    .action(act(async (c, cmd, name: string) => (await import('./verbs/volumes.ts')).volumeCreate(c, name, cmd.opts())));
  volumeVerb('rm', 'delete volumes (refused while a container uses one)')
    .alias('remove')
    .argument('<names...>')
    .action(act(async (c, _cmd, names: string[]) => (await import('./verbs/volumes.ts')).volumeRm(c, names)));

  verb('events', 'print events as they happen (containers and images)')
    .option('--since <time>', 'start from this time (RFC 3339 or Unix seconds): past events too')
    .option('--until <time>', 'stop at this time')
    .option('--container <container>', 'only this container (repeatable)', collect)
    .option('--type <type>', 'only this event type (repeatable): state, exec-start, image-pull, ...', collect)
    .option('--json', 'the API objects, one per line')
    .action(act(async (c, cmd) => (await import('./verbs/events.ts')).events(c, cmd.opts())));

  verb('stats', 'live CPU, memory, network and disk use of running containers')
    .argument('[containers...]')
    .option('--no-stream', 'print one table (from two readings) and exit')
    .option('--json', 'the figures as JSON (one line per round when streaming)')
    .action(act(async (c, cmd, refs: string[]) => (await import('./verbs/stats.ts')).stats(c, refs, cmd.opts())));

  program
    .command('completion')
    .description('print a bash completion script: source <(hearth completion bash)')
    .argument('<shell>', 'bash')
    .action(async (shell: string) => {
      result.status = (await import('./completion.ts')).completion(program, shell);
    });

  program
    .command('serve')
    .description('run the manager in the foreground: the HTTP API and every container')
    .addHelpText(
      'after',
      `
Serves the API on HEARTH_HOST:HEARTH_PORT (127.0.0.1:18080) with its state in HEARTH_DATA_DIR
(/var/lib/hearth). Settings: HEARTH_* variables, or a JSON file named by HEARTH_CONFIG (README.md,
docs/api.md#configuration). SIGINT or SIGTERM stops the manager; containers keep running, and the next
start adopts them. Runs as root: it creates a bridge, taps and firewall rules, and starts VMs.`,
    )
    .action(async () => {
      const { main, startFailureMessage } = await import('../main.ts');
      await main().catch((e: unknown) => {
        throw new Error(startFailureMessage(e));
      });
    });

  return program;
}
