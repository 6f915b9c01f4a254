/**
 * `node --import tsx test/helpers/collect-cli.ts <dataDir>`: one collection keeping one unused image, in a
 * process of its own (to be killed). What it logs goes to stdout as JSON lines; once it has removed its first
 * disk it stops dead, event loop and all, until it is killed.
 */
import { writeSync } from 'node:fs';
import { ImageStore } from '../../src/images/image-store.ts';

const [dataDir] = process.argv.slice(2);
const line = (fields: object) => writeSync(1, `${JSON.stringify(fields)}\n`);
const log = {
  info(fields: object, message: string) {
    line({ message, ...fields });
    if (message.startsWith('removed the disk')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  },
  warn: (fields: object, message: string) => line({ message, ...fields }),
  error: (fields: object, message: string) => line({ message, ...fields }),
};
await new ImageStore({ dataDir: dataDir!, keepUnused: 1, log }).collect();
line({ message: 'exit' });
