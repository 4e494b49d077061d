// N no-op jobs through BullMQ (Node + Redis), as a new user would run them: enqueued with
// addBulk in batches of 1,000, then one Worker with concurrency 50 whose processor does
// nothing. BullMQ's defaults otherwise (completed jobs are kept, as Docket keeps results).
// Prints one JSON line. Usage: node bullmq_bench.mjs --items N [--concurrency C] [--redis URL]
import { Queue, Worker } from 'bullmq';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const items = Number(arg('items', '100000'));
const concurrency = Number(arg('concurrency', '50'));
const redis = new URL(arg('redis', 'redis://127.0.0.1:6379'));
const connection = { host: redis.hostname, port: Number(redis.port || 6379) };
const name = `docket-peer-bench-${process.pid}-${Date.now()}`;

const queue = new Queue(name, { connection });
const t0 = performance.now();
for (let i = 0; i < items; i += 1000) {
  const batch = [];
  for (let k = i; k < Math.min(items, i + 1000); k++) batch.push({ name: 'noop', data: { k } });
  await queue.addBulk(batch);
}
const enqueue = (performance.now() - t0) / 1000;

let done = 0;
let finished;
const allDone = new Promise((resolve) => { finished = resolve; });
const t1 = performance.now();
const worker = new Worker(name, async () => {}, { connection, concurrency });
worker.on('completed', () => { if (++done === items) finished(); });
worker.on('failed', (job, err) => { console.error('failed', err); process.exit(1); });
await allDone;
const work = (performance.now() - t1) / 1000;
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
console.log(JSON.stringify({
  peer: 'bullmq', items, concurrency,
  enqueue_per_s: Math.round(items / enqueue), work_per_s: Math.round(items / work),
}));
