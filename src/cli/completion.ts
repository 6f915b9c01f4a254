/**
 * `hearth completion bash`: a completion script made from the declared commands and their flags, so it
 * cannot drift from them. Completes verbs, `volume`'s subverbs and flags; container names are not looked up
 * (that would ask the manager at every Tab).
 * @module
 */
import type { Command } from 'commander';

const flagsOf = (cmd: Command) => cmd.options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined)).concat('--help');

export function bashCompletion(program: Command): string {
  const verbs = program.commands.map((c) => c.name());
  const cases = program.commands.map((c) => {
    const words = [...flagsOf(c), ...c.commands.map((s) => s.name())];
    return `    ${c.name()}) words="${words.join(' ')}" ;;`;
  });
  return `# bash completion for hearth: source <(hearth completion bash)
_hearth() {
  local cur=\${COMP_WORDS[COMP_CWORD]} verb="" i words
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in --host) ((i++)) ;; -*) ;; *) verb=\${COMP_WORDS[i]}; break ;; esac
  done
  case $verb in
    "") words="${verbs.join(' ')} --host --help --version" ;;
${cases.join('\n')}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _hearth hearth
`;
}

export function completion(program: Command, shell: string): number {
  if (shell !== 'bash') {
    process.stderr.write(`hearth: completion for '${shell}' is not made: only bash\n`);
    return 2;
  }
  process.stdout.write(bashCompletion(program));
  return 0;
}
