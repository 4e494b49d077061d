// N no-op jobs through graphile-worker (Node + PostgreSQL), as a new user would run them:
// enqueued with addJobs in batches of 1,000 (one statement each), then a runner with
// concurrency 10 (its default pool of 10 connections) whose task does nothing.
// Prints one JSON line. Usage: node graphile_bench.mjs --items N --database URL [--concurrency C]
import { Logger, makeWorkerUtils, run } from 'graphile-worker';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const items = Number(arg('items', '100000'));
const concurrency = Number(arg('concurrency', '10'));
const connectionString = arg('database', 'postgres://postgres@127.0.0.1:5432/postgres');
// Quiet: a line per job on the terminal would measure the terminal.
const logger = new Logger(() => (level, message) => { if (level === 'error') console.error(message); });

const utils = await makeWorkerUtils({ connectionString, logger });
await utils.migrate();
const t0 = performance.now();
for (let i = 0; i < items; i += 1000) {
  const batch = [];
  for (let k = i; k < Math.min(items, i + 1000); k++) batch.push({ identifier: 'noop', payload: { k } });
  await utils.addJobs(batch);
}
const enqueue = (performance.now() - t0) / 1000;

let done = 0;
let finished;
const allDone = new Promise((resolve) => { finished = resolve; });
const t1 = performance.now();
const runner = await run({
  connectionString,
  concurrency,
  logger,
  noHandleSignals: true,
  pollInterval: 100,
  taskList: { noop: async () => { if (++done === items) finished(); } },
});
await allDone;
const work = (performance.now() - t1) / 1000;
await runner.stop();
await utils.release();
console.log(JSON.stringify({
  peer: 'graphile-worker', items, concurrency,
  enqueue_per_s: Math.round(items / enqueue), work_per_s: Math.round(items / work),
}));
