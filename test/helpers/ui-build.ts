/** Builds dist/ (the web UI's bundle included) if its sources changed, as scripts/test.sh does before the tests. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export function buildUi(): void {
  execFileSync(path.resolve(import.meta.dirname, '../../scripts/build.sh'), ['--if-changed'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
