// Starts docker-compose.yml's KMS services as local processes with the environment the file gives each
// container (hosts mapped to this machine, own database and ports) and checks each boots and is ready.
// No Docker engine needed. Usage: npx tsx scripts/compose-smoke.ts [--kafka host:port]
// Exit 0 when every service came up; the processes are stopped and the database dropped either way.
import { runComposeSmoke } from '../infra/compose/compose-smoke';

async function main(args: string[]): Promise<number> {
  const k = args.indexOf('--kafka');
  const run = await runComposeSmoke({ ...(k >= 0 && args[k + 1] ? { kafka: args[k + 1] } : {}), log: (line) => process.stdout.write(`${line}\n`) });
  try {
    for (const o of run.outcomes) if (!o.ok) process.stderr.write(`--- ${o.service} output (tail)\n${o.output().slice(-4000)}\n`);
    const ok = run.outcomes.length > 0 && run.outcomes.every((o) => o.ok);
    process.stdout.write(ok ? `compose smoke: ${run.outcomes.length} services up\n` : 'compose smoke: FAILED\n');
    return ok ? 0 : 1;
  } finally {
    await run.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`compose smoke failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
