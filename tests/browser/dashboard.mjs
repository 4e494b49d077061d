#!/usr/bin/env node
// End-to-end test of the dashboard: a real `docket serve` on a free port in a temporary
// directory, driven by headless Chromium through playwright-core.
//
//   node dashboard.mjs path/to/docket        (or DOCKET_BIN=path/to/docket node dashboard.mjs)
//
// Environment: SCREENSHOT_DIR (default <repo>/target/screenshots), CHROMIUM (default
// /usr/bin/chromium), UPDATE_DOCS_SCREENSHOTS=1 to copy the screenshots into docs/screenshots,
// KEEP_TMP=1 to keep the server's directory.
//
// Every wait is a condition with a deadline; the process exits non-zero on any failure and
// always stops the server.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const bin = path.resolve(process.argv[2] || process.env.DOCKET_BIN || '');
const shots = process.env.SCREENSHOT_DIR
  ? path.resolve(process.env.SCREENSHOT_DIR)
  : path.join(repo, 'target', 'screenshots');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
// With {"max_workers": 1} an item takes some 25 ms however small: 150 of them leave seconds to
// pause in, in debug and release builds alike.
const FILES = 150;
const WORD = 'lighthouse';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let server = null;
let emulator = null;
let browser = null;
let tmp = null;
let serverLog = null;
const started = Date.now();

function log(...args) {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  console.log(`[${t}s]`, ...args);
}

class Failure extends Error {}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeout` ms. */
async function until(what, check, timeout = 15000, every = 50) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Failure(`timed out after ${timeout} ms waiting for ${what}`
        + (last instanceof Error ? ` (last error: ${last.message})` : ''));
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

function assert(cond, message) {
  if (!cond) throw new Failure(message);
}

// ---- the documents ------------------------------------------------------------------------

const SENTENCES = [
  'The harbour master logged every ship that passed the breakwater before dawn.',
  'Invoices for the spring quarter were sent to the accounts office on Monday.',
  'A storm from the north flattened the barley in the lower fields overnight.',
  'The committee agreed to repair the library roof before the winter rains.',
  'Our delivery of printer paper arrived two days later than promised.',
  'The old mill by the river was converted into a museum of local crafts.',
  'Please find attached the minutes of the meeting held on the third of May.',
  'The survey team measured the depth of the bay at low tide.',
  'Children from the village school planted oak saplings along the lane.',
  'The contract will be renewed automatically unless either party objects in writing.',
];

function documentText(i) {
  const lines = [];
  for (let k = 0; k < 12; k++) lines.push(SENTENCES[(i + k) % SENTENCES.length]);
  lines.push(`This is document number ${i} of the batch.`); // unique: nothing deduplicated
  if (i % 5 === 0) {
    lines.splice(3, 0, `The keeper of the ${WORD} on the headland wrote letter number ${i} by lamplight.`);
  }
  return lines;
}

function makeFiles(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const files = [];
  for (let i = 0; i < FILES; i++) {
    const lines = documentText(i);
    const kind = i % 3;
    let name;
    let body;
    if (kind === 0) {
      name = `letter-${String(i).padStart(2, '0')}.txt`;
      body = lines.join('\n') + '\n';
    } else if (kind === 1) {
      name = `notes-${String(i).padStart(2, '0')}.md`;
      body = `# Notes ${i}\n\n${lines.map((l) => `- ${l}`).join('\n')}\n`;
    } else {
      name = `page-${String(i).padStart(2, '0')}.html`;
      body = `<!doctype html><html><head><title>Page ${i}</title></head><body>`
        + `<h1>Page ${i}</h1>${lines.map((l) => `<p>${l}</p>`).join('')}</body></html>\n`;
    }
    fs.writeFileSync(path.join(dir, name), body);
    files.push(path.join(dir, name));
  }
  // Markup in a document's text must be shown as text by the search page, never run.
  const hostile = path.join(dir, 'hostile.txt');
  fs.writeFileSync(hostile, `A ${WORD} keeper typed <script>window.__pwned=2</script>`
    + `<img src=x onerror="window.__pwned=1"></mark><b>bold</b> into the log.\n`);
  files.push(hostile);
  return files;
}

// ---- the server ---------------------------------------------------------------------------

/** The Archipelago emulator (built next to docket), the publish target of the test. */
async function startEmulator() {
  const exe = path.join(path.dirname(bin), 'archipelago-emulator');
  assert(fs.existsSync(exe), `no ${exe}: build it (cargo build -p archipelago-emulator)`);
  emulator = spawn(exe, ['--bind', '127.0.0.1:0', '--user', 'jsonapi', '--password', 'browser-secret'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: emulator.stdout });
  return Promise.race([
    new Promise((resolve) => lines.once('line', (line) => resolve(line.trim().replace(/\/$/, '')))),
    new Promise((_, reject) => setTimeout(() => reject(new Failure('the emulator did not start within 10 s')), 10000)),
  ]);
}

async function startServer() {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'docket-browser-'));
  const data = path.join(tmp, 'data');
  serverLog = fs.openSync(path.join(tmp, 'server.log'), 'a');
  const repository = await startEmulator();
  fs.writeFileSync(path.join(tmp, 'docket.toml'),
    `[publish.targets.archive]\nurl = "${repository}"\nuser = "jsonapi"\nconcurrency = 4\n`);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('DOCKET_')) delete env[k];
  Object.assign(env, {
    DOCKET_BIND: '127.0.0.1:0',
    DOCKET_WORKERS: '2',
    DOCKET_LOG: 'warn',
    DOCKET_DATA_DIR: data,
    DOCKET_DATABASE_URL: `sqlite://${path.join(data, 'docket.db')}`,
    DOCKET_BLOBS: path.join(data, 'blobs'),
    DOCKET_PUBLISH_ARCHIVE_PASSWORD: 'browser-secret',
  });
  server = spawn(bin, ['serve'], { cwd: tmp, env, stdio: ['ignore', 'pipe', serverLog] });
  const exited = new Promise((resolve) => server.once('exit', (code, sig) => resolve(`exited (${code ?? sig})`)));
  const lines = createInterface({ input: server.stdout });
  const url = await Promise.race([
    new Promise((resolve) => lines.on('line', (line) => {
      fs.writeSync(serverLog, line + '\n');
      const m = /^docket listening on (\S+)/.exec(line);
      if (m) resolve(m[1]);
    })),
    exited.then((why) => { throw new Failure(`docket serve ${why} before listening`); }),
    new Promise((_, reject) => setTimeout(() => reject(new Failure('docket serve did not start within 30 s')), 30000)),
  ]);
  const token = await until('the first-start token in data/token', () => {
    try { return fs.readFileSync(path.join(data, 'token'), 'utf8').trim(); } catch { return ''; }
  }, 10000);
  return { url: url.replace(/\/$/, ''), token, repository };
}

async function stopServer() {
  if (emulator && emulator.exitCode === null) emulator.kill('SIGTERM');
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const gone = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10000);
  await gone;
  clearTimeout(timer);
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (server) server.kill('SIGKILL');
    process.exit(130);
  });
}
process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });

// ---- the test -----------------------------------------------------------------------------

async function shot(page, name) {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file });
  log('screenshot', path.relative(repo, file));
}

/** axe-core's WCAG 2.1 A/AA rules on the page as it is: serious or critical findings fail. */
async function accessible(page, what) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    resultTypes: ['violations'],
  }));
  const describe = (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`;
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of result.violations.filter((x) => !serious.includes(x))) log(`accessibility note, ${what}: ${describe(v)}`);
  assert(serious.length === 0, `accessibility, ${what}:\n  ${serious.map(describe).join('\n  ')}`);
}

async function run() {
  assert(bin && fs.existsSync(bin), `give the docket binary as the first argument or DOCKET_BIN (got "${bin}")`);
  assert(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM)`);
  fs.mkdirSync(shots, { recursive: true });

  const { url, token, repository } = await startServer();
  log('docket serve at', url, 'in', tmp);
  const files = makeFiles(path.join(tmp, 'files'));

  // The dashboard's own headers.
  const index = await fetch(url + '/');
  assert(index.status === 200, `GET / answered ${index.status}`);
  assert((index.headers.get('content-type') || '').startsWith('text/html'), 'GET / is not HTML');
  const csp = index.headers.get('content-security-policy') || '';
  assert(/default-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), `weak or missing CSP: "${csp}"`);
  const js = await fetch(url + '/dashboard/app.js');
  assert((js.headers.get('content-type') || '').startsWith('text/javascript'), 'app.js has the wrong type');
  const etag = js.headers.get('etag');
  const again = await fetch(url + '/dashboard/app.js', { headers: { 'If-None-Match': etag } });
  assert(again.status === 304, `a revalidation answered ${again.status}, not 304`);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
    else if (m.type() === 'error' && !/Failed to load resource/.test(text)) problems.push(`console: ${text}`);
  });
  page.on('dialog', (d) => d.accept());
  // Live views use the WebSocket feed (with a ticket, since a browser cannot send the token).
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));

  // Sign in (a wrong token first: it is refused with a message).
  await page.goto(url + '/');
  await page.locator('#token').waitFor();
  await accessible(page, 'sign-in');
  await page.fill('#token', 'dkt_not_a_real_token');
  await page.click('button:has-text("Sign in")');
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor({ timeout: 10000 });
  await page.fill('#token', token);
  await page.click('button:has-text("Sign in")');
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  assert(await page.evaluate(() => localStorage.getItem('docket.token')) === token, 'the token is not kept');
  await page.reload();
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  log('signed in (and still after a reload)');

  // Two other jobs, so the list has company: a finished one, and a slow one to cancel later.
  const submitJson = async (body) => {
    const r = await fetch(url + '/v1/jobs', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert(r.status === 202, `submitting ${JSON.stringify(body)} answered ${r.status}`);
    return (await r.json()).id;
  };
  await submitJson({ kind: 'noop', source: { count: 40 } });
  const slowId = await submitJson({ kind: 'noop', source: { count: 500, sleep_ms: 1000 }, options: { max_workers: 1 } });

  // Upload: most files through the file picker, two dropped on the drop zone.
  await page.getByRole('link', { name: 'Upload', exact: true }).click();
  await page.getByRole('heading', { name: 'Upload documents' }).waitFor();
  const dropped = files.slice(0, 2);
  const picked = files.slice(2);
  await accessible(page, 'upload form');
  await page.setInputFiles('#files', picked);
  const transfer = await page.evaluateHandle((docs) => {
    const dt = new DataTransfer();
    for (const [name, text] of docs) dt.items.add(new File([text], name, { type: 'text/plain' }));
    return dt;
  }, dropped.map((f) => [path.basename(f), fs.readFileSync(f, 'utf8')]));
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
  await until(`the form to list ${files.length} files`, async () =>
    (await page.textContent('#file-summary')).startsWith(`${files.length} files`));
  await page.fill('#options', '{"max_workers": 1}');
  await shot(page, '0-upload');
  // The files go up as resumable (tus) uploads: the network drops the first appends, and the
  // form waits, asks the server for the offset and goes on, without a reload.
  let droppedAppends = 0;
  await page.route('**/v1/uploads/upl_*', async (route) => {
    if (route.request().method() === 'PATCH' && droppedAppends < 2) {
      droppedAppends += 1;
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  await page.click('button:has-text("Start job")');
  await until('the form to say the connection was lost', async () =>
    /Connection lost/.test((await page.textContent('#upload-waiting')) || ''));
  const created = page.locator('#created article.job');
  await created.waitFor({ timeout: 20000 });
  const jobId = await created.getAttribute('data-job-id');
  assert(/^job_/.test(jobId), `created job id "${jobId}"`);
  assert(droppedAppends === 2, `${droppedAppends} appends were dropped`);
  await page.unroute('**/v1/uploads/upl_*');
  log('created', jobId, 'after', droppedAppends, 'dropped appends');

  // The jobs list: the bar moves live; pause and resume mid-job with the buttons.
  await page.getByRole('link', { name: 'Jobs', exact: true }).click();
  const card = page.locator(`article.job[data-job-id="${jobId}"]`);
  await card.waitFor();
  await page.evaluate((id) => {
    // Every state the badge shows, in order: a resumed job may finish between two polls.
    window.__states = [];
    const badge = () => document.querySelector(`article.job[data-job-id="${id}"] .badge`);
    const seen = () => {
      const b = badge();
      const s = b && b.textContent;
      if (s && window.__states[window.__states.length - 1] !== s) window.__states.push(s);
    };
    seen();
    new MutationObserver(seen).observe(document.getElementById('main'),
      { subtree: true, childList: true, characterData: true, attributes: true });
  }, jobId);
  const bar = card.getByRole('progressbar');
  const progressNow = async () => Number(await bar.getAttribute('aria-valuenow'));
  await until('the progress bar to move past 5%', async () => (await progressNow()) > 5, 20000, 20);
  const before = await progressNow();
  assert(before < 100, `the job finished (${before}%) before it could be paused: make it slower`);
  await shot(page, '1-jobs-progress');
  await card.getByRole('button', { name: /^Pause/ }).click();
  await until('the badge to say paused', async () =>
    /^paused/.test(await card.locator('.badge').textContent()), 15000);
  const pausedAt = await progressNow();
  assert(pausedAt < 100, `paused at ${pausedAt}%: nothing was left to resume`);
  assert(await card.getByRole('button', { name: /^Pause/ }).isDisabled(), 'Pause is enabled on a paused job');
  assert(await card.getByRole('button', { name: /^Resume/ }).isEnabled(), 'Resume is disabled on a paused job');
  const pausedText = await card.locator('.badge').textContent();
  assert(pausedText.includes('by you'), `the paused badge does not give the reason: "${pausedText}"`);
  // Paused means nothing in flight, and the card shows the server's own counts.
  const onServer = await page.evaluate(async ({ id, t }) =>
    (await fetch(`/v1/jobs/${id}`, { headers: { Authorization: `Bearer ${t}` } })).json(), { id: jobId, t: token });
  assert(onServer.state === 'paused' && onServer.counts.running === 0, `the server says ${JSON.stringify(onServer.counts)} in ${onServer.state}`);
  assert(onServer.counts.succeeded < files.length, 'every item finished before the pause took effect');
  await until('the card to show the paused counts', async () =>
    (await card.locator('.counts').textContent()).startsWith(`${onServer.counts.succeeded} of ${files.length} done`), 5000);
  await shot(page, '2-jobs-paused');
  await accessible(page, 'jobs list');
  const counts2 = await card.locator('.counts').textContent();
  log('paused at', pausedAt + '%', '-', counts2);
  await card.getByRole('button', { name: /^Resume/ }).click();
  await until('the badge to leave paused', async () =>
    !/^paused/.test(await card.locator('.badge').textContent()), 10000);
  await until('the progress bar to reach 100%', async () => (await progressNow()) === 100, 60000);
  await until('the badge to say completed', async () =>
    (await card.locator('.badge').textContent()) === 'completed', 15000);
  const states = await page.evaluate(() => window.__states);
  const p = states.findIndex((s) => s.startsWith('paused'));
  assert(p >= 0 && states.slice(p + 1).includes('running'), `the badge never showed paused then running: ${JSON.stringify(states)}`);
  const summary = await card.locator('.counts').textContent();
  assert(summary.startsWith(`${files.length} of ${files.length} done · ${files.length} succeeded`)
    && !/failed|cancelled/.test(summary), `not every item succeeded: "${summary}"`);
  for (const action of ['Pause', 'Resume', 'Cancel']) {
    assert(await card.getByRole('button', { name: new RegExp('^' + action) }).isDisabled(), `${action} is enabled on a finished job`);
  }
  // Cancel the slow job with its button (after the confirmation dialog).
  const slow = page.locator(`article.job[data-job-id="${slowId}"]`);
  await slow.getByRole('button', { name: /^Cancel/ }).click();
  await until('the slow job to say cancelled', async () =>
    (await slow.locator('.badge').textContent()) === 'cancelled', 10000);
  assert(/cancelled/.test(await slow.locator('.counts').textContent()), 'the cancelled job counts no cancelled items');
  assert(await slow.getByRole('button', { name: /^Cancel/ }).isDisabled(), 'Cancel is enabled on a cancelled job');
  const order = await page.locator('ol.jobs > li').evaluateAll((lis) => lis.map((li) => li.dataset.jobId));
  assert(order.length === 3 && order[0] === jobId && order[1] === slowId, `the list is not newest first: ${order}`);
  const mode = await page.getAttribute('#conn', 'data-mode');
  log('completed; badge went', states.join(' → '), `(live updates: ${mode})`);

  // A control the server refuses (here: a stale button) shows the problem+json detail.
  const refused = await page.evaluate(async ({ id, t }) => {
    const r = await fetch(`/v1/jobs/${id}/pause`, { method: 'POST', headers: { Authorization: `Bearer ${t}` } });
    return [r.status, r.headers.get('content-type'), (await r.json()).detail];
  }, { id: jobId, t: token });
  assert(refused[0] === 409 && refused[1] === 'application/problem+json', `pausing a completed job answered ${refused}`);
  const pauseButton = card.locator('button[data-action="pause"]');
  await pauseButton.evaluate((b) => { b.disabled = false; });
  await pauseButton.click();
  await card.getByRole('alert').filter({ hasText: refused[2] }).waitFor({ timeout: 5000 });
  assert(await pauseButton.isDisabled(), 'Pause is enabled again after a refusal');
  log('a refused pause shows:', refused[2]);

  // The job page: every document, paginated by the API's cursor.
  await card.locator('a.job-id').click();
  await page.getByRole('heading', { name: `Job ${jobId}` }).waitFor();
  const rows = page.locator('table.items tbody tr');
  await until('the first page of 50 documents', async () => (await rows.count()) === 50);
  await until('every row to say succeeded', async () =>
    (await page.locator('table.items tbody tr[data-state="succeeded"]').count()) === 50);
  await shot(page, '3-job-page');
  await accessible(page, 'job page');
  const next = page.getByRole('button', { name: 'Next →' });
  const seen = new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.itemId)));
  let pages = 1;
  while (await next.isEnabled()) {
    const firstBefore = await rows.first().getAttribute('data-item-id');
    await next.click();
    await until(`page ${pages + 1} of documents`, async () =>
      (await rows.first().getAttribute('data-item-id')) !== firstBefore);
    pages++;
    for (const itemId of await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.itemId))) seen.add(itemId);
  }
  assert(seen.size === files.length, `the pages list ${seen.size} documents, not ${files.length}`);
  await page.getByRole('button', { name: '← Previous' }).click();
  await until('the previous page', async () => (await rows.count()) === 50);
  log(`job page: ${files.length} documents on ${pages} pages`);
  const [csvDownload] = await Promise.all([
    page.waitForEvent('download', { timeout: 15000 }),
    page.getByRole('button', { name: 'Download the results as CSV' }).click(),
  ]);
  const csv = fs.readFileSync(await csvDownload.path(), 'utf8').trim().split('\n');
  assert(csv.length === files.length + 1 && csv.some((l) => l.includes('hostile.txt')),
    `the CSV results have ${csv.length} lines, not a header and ${files.length} rows`);
  log('results downloaded as CSV:', csvDownload.suggestedFilename());
  // The export bundle and the bag: ZIPs named after the job, with their manifests.
  for (const [label, ending, entries] of [
    ['ZIP', '.zip', ['manifest.csv', 'text/']],
    ['BagIt', '-bagit.zip', ['bagit.txt', 'bag-info.txt', 'manifest-sha256.txt', `${jobId}/data/manifest.csv`]],
  ]) {
    const [bundle] = await Promise.all([
      page.waitForEvent('download', { timeout: 30000 }),
      page.getByRole('button', { name: `Download the results as ${label}` }).click(),
    ]);
    const name = bundle.suggestedFilename();
    assert(name === `${jobId}${ending}`, `the ${label} download is named ${name}`);
    const bytes = fs.readFileSync(await bundle.path());
    assert(bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])), `the ${label} download is not a ZIP`);
    // Entry names are stored as they are in the local headers and the central directory.
    const text = bytes.toString('latin1');
    for (const entry of entries) assert(text.includes(entry), `the ${label} bundle has no ${entry}`);
    assert(bytes.subarray(-22, -18).equals(Buffer.from([0x50, 0x4b, 0x05, 0x06])) || text.includes('PK\x06\x06'),
      `the ${label} bundle has no end of central directory: not complete`);
    log(`results downloaded as ${label}:`, name, `${bytes.length} bytes`);
  }

  // Search: ranked hits with highlighted snippets; markup in documents stays text.
  await page.getByRole('link', { name: 'Search', exact: true }).click();
  await page.fill('#q', WORD);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const hits = page.locator('ol.hits li.hit');
  await until('search hits', async () => (await hits.count()) >= 5, 15000);
  const expected = files.map((f) => path.basename(f))
    .filter((f) => f === 'hostile.txt' || Number(/(\d+)\./.exec(f)[1]) % 5 === 0).length;
  const status = await page.textContent('#search-status');
  assert(status.startsWith(`${expected} results`), `expected ${expected} results, the page says "${status}"`);
  const marks = await page.locator('ol.hits .snippet mark').allTextContents();
  assert(marks.length >= 5 && marks.every((m) => m.toLowerCase() === WORD), `highlights: ${JSON.stringify(marks)}`);
  const hostileHit = page.locator('ol.hits li.hit', { hasText: 'hostile.txt' });
  await hostileHit.waitFor();
  const hostileText = await hostileHit.locator('.snippet').textContent();
  assert(hostileText.includes('<script>'), `the hostile snippet lost its text: "${hostileText}"`);
  assert(await page.locator('ol.hits img, ol.hits script, ol.hits b').count() === 0, 'markup from a document was injected');
  assert(await page.evaluate(() => window.__pwned === undefined), 'a document ran script');
  await shot(page, '4-search');
  await accessible(page, 'search');
  log('search:', status);

  // A document: metadata and text; the thumbnail only if there is one.
  const first = hits.filter({ hasNotText: 'hostile.txt' }).first();
  const name = await first.locator('.hit-head a').textContent();
  await first.locator('.hit-head a').click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  await until('the document text', async () => (await page.textContent('#doc-text')).includes(WORD), 10000);
  const text = await page.textContent('#doc-text');
  const number = Number(/(\d+)\./.exec(name)[1]);
  assert(text.includes(`letter number ${number} by lamplight`), `not the text of ${name}: ${text.slice(0, 300)}`);
  await until('the metadata', async () => (await page.locator('dl.details dt').count()) >= 6);
  const thumb = page.locator('figure.thumb');
  const thumbShown = await thumb.isVisible();
  if (thumbShown) {
    assert(await thumb.locator('img').evaluate((img) => img.naturalWidth > 0), 'a broken thumbnail is shown');
  }
  await shot(page, '5-document');
  await accessible(page, 'document');
  log('document:', name, thumbShown ? '(with thumbnail)' : '(no thumbnail)');

  // Publish the job to the repository: pick the target, start, and land on the publish job,
  // which ends with one digital object per document in the (emulated) repository.
  await page.goto(`${url}/#/jobs/${jobId}`);
  const publishButton = page.getByRole('button', { name: 'Publish', exact: true });
  await until('the publish controls', async () => publishButton.isVisible() && publishButton.isEnabled(), 10000);
  const targetNames = await page.locator('#publish-target option').allTextContents();
  assert(targetNames.length === 1 && targetNames[0].startsWith('archive'), `publish targets: ${targetNames}`);
  await page.selectOption('#publish-mode', 'objects');
  await publishButton.click();
  await until('the publish job page', async () => /#\/jobs\/job_/.test(page.url()) && !page.url().includes(jobId), 10000);
  const publishCard = page.locator('article.job');
  await until('the publish job to complete', async () =>
    (await publishCard.locator('.badge').textContent()) === 'completed', 60000);
  const kind = await page.locator('dl.details dd').first().textContent();
  assert(kind === 'publish', `the new job is a ${kind} job`);
  const stored = await (await fetch(`${repository}/_emulator/record`)).json();
  assert(stored.nodes.length === files.length, `the repository holds ${stored.nodes.length} objects, not ${files.length}`);
  assert(new Set(stored.nodes.map((n) => n.uuid)).size === files.length, 'duplicate objects in the repository');
  await shot(page, '6-published');
  await accessible(page, 'publish job');
  log(`published ${stored.nodes.length} documents as digital objects`);

  // Broken files: each item fails with its error shown, and after three failures in a row the
  // job pauses itself, which its badge says.
  const broken = [];
  for (let i = 1; i <= 4; i++) {
    const f = path.join(tmp, 'files', `broken-${i}.docx`);
    fs.writeFileSync(f, Buffer.from(`PK\x03\x04 not really a zip ${i} `.repeat(20), 'latin1'));
    broken.push(f);
  }
  await page.getByRole('link', { name: 'Upload', exact: true }).click();
  await page.setInputFiles('#files', broken);
  await page.fill('#options', '{"max_workers": 1, "auto_pause_after": 3}');
  await page.click('button:has-text("Start job")');
  const brokenCard = page.locator('#created article.job');
  await brokenCard.waitFor({ timeout: 20000 });
  const brokenId = await brokenCard.getAttribute('data-job-id');
  await until('the broken job to pause itself', async () =>
    (await brokenCard.locator('.badge').textContent()) === 'paused (too many failures in a row)', 20000);
  await page.goto(`${url}/#/jobs/${brokenId}?state=failed`);
  const failedRows = page.locator('table.items tbody tr[data-state="failed"]');
  await until('three failed documents', async () => (await failedRows.count()) === 3, 10000);
  const firstError = await failedRows.first().locator('.errors li').first().textContent();
  assert(/^attempt 1: \S/.test(firstError), `the error of a failed document: "${firstError}"`);
  await shot(page, '7-failures');
  await accessible(page, 'failed documents');
  await page.locator('article.job').getByRole('button', { name: /^Cancel/ }).click();
  await until('the broken job to be cancelled', async () =>
    (await page.locator('article.job .badge').textContent()) === 'cancelled', 10000);
  log('a broken upload paused itself; its errors read:', firstError);

  assert(sockets.some((u) => /\/v1\/jobs\/[^/]+\/ws\?ticket=/.test(u)),
    `no job page opened its WebSocket feed: ${JSON.stringify(sockets)}`);
  assert(sockets.some((u) => /\/v1\/ws\?ticket=/.test(u)),
    `the jobs list did not open the all-jobs WebSocket feed: ${JSON.stringify(sockets)}`);
  log('live views used', sockets.length, 'WebSocket connections');

  // Schedules: a bad cron is refused naming the field; a per-second schedule makes its jobs
  // (linked from its runs), pauses and resumes; deleting it leaves none.
  await page.getByRole('link', { name: 'Schedules', exact: true }).click();
  await page.locator('#sch-cron').waitFor();
  await page.fill('#sch-cron', '61 * * * *');
  await page.fill('#sch-tz', 'Europe/Paris');
  await page.fill('#sch-count', '1');
  await page.click('button:has-text("Add schedule")');
  const cronError = await page.locator('.schedule-form .notice.error').textContent({ timeout: 10000 });
  assert(/`cron`/.test(cronError), `a bad cron's error: "${cronError}"`);
  await page.fill('#sch-cron', '* * * * * *');
  await page.click('button:has-text("Add schedule")');
  const scheduleCard = page.locator('article.schedule');
  await scheduleCard.waitFor({ timeout: 10000 });
  await until('a run of the schedule with its job', async () => {
    await page.reload();
    return (await page.locator('article.schedule .runs a').count()) > 0;
  }, 20000, 1000);
  await accessible(page, 'schedules');
  await shot(page, '8-schedules');
  await page.locator('article.schedule').getByRole('button', { name: 'Pause' }).click();
  await until('the schedule to show paused', async () =>
    (await page.locator('article.schedule .badge').first().textContent()) === 'paused', 10000);
  await page.locator('article.schedule').getByRole('button', { name: 'Resume' }).click();
  await until('the schedule to show active', async () =>
    (await page.locator('article.schedule .badge').first().textContent()) === 'active', 10000);
  await page.locator('article.schedule').getByRole('button', { name: 'Delete' }).click();
  await until('no schedule left', async () => (await page.locator('article.schedule').count()) === 0, 10000);
  log('a schedule ran, paused, resumed and went');

  // Sign out: back to the sign-in box, token gone.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#token').waitFor();
  assert(await page.evaluate(() => localStorage.getItem('docket.token')) === null, 'the token survived sign-out');

  assert(problems.length === 0, `the page reported problems:\n  ${problems.join('\n  ')}`);
  await browser.close();
  browser = null;

  if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
    const docs = path.join(repo, 'docs', 'screenshots');
    fs.mkdirSync(docs, { recursive: true });
    for (const f of fs.readdirSync(shots).filter((f) => f.endsWith('.png'))) {
      fs.copyFileSync(path.join(shots, f), path.join(docs, f));
    }
    log('copied the screenshots to docs/screenshots');
  }
}

let failed = false;
try {
  await run();
  log('PASS: dashboard');
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e instanceof Failure ? e.message : e.stack || e}`);
  if (browser) {
    try {
      const page = browser.contexts()[0]?.pages()[0];
      if (page) {
        await page.screenshot({ path: path.join(shots, 'failure.png') });
        console.error(`the page at the failure: ${path.join(shots, 'failure.png')}`);
      }
    } catch { /* the browser is gone */ }
  }
  if (tmp) {
    try {
      const tail = fs.readFileSync(path.join(tmp, 'server.log'), 'utf8').split('\n').slice(-30).join('\n');
      console.error('--- server log (tail) ---\n' + tail);
    } catch { /* no log */ }
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  await stopServer();
  if (tmp && !failed && process.env.KEEP_TMP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
