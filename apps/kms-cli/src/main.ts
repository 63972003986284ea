// The `kms` command (bin/kms.js runs this file through tsx). See `kms --help` and README "Calling the API".
import { readFileSync } from 'node:fs';
import { runCli } from './kms-cli';

runCli(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  progressStream: process.stderr,
  env: process.env,
  stdin: () => readFileSync(0, 'utf8'),
}).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`kms: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
