// A small tus 1.0 client for the upload form: each file is a resumable upload under
// /v1/uploads, sent in checksummed chunks; a chunk that fails (the network went away, the
// server restarted) is retried after asking the server for the offset, waiting for the
// browser to come back online, without reloading anything.

import { api, ApiError, authHeaders, randomKey } from './api.js';

const CHUNK = 8 * 1024 * 1024;
const TUS = { 'Tus-Resumable': '1.0.0' };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when the browser says it is online (at once if it already is). */
function online() {
  if (navigator.onLine !== false) return Promise.resolve();
  return new Promise((resolve) => window.addEventListener('online', resolve, { once: true }));
}

function base64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

async function sha256Base64(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  let binary = '';
  for (const b of new Uint8Array(digest)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** One request; answers { status, headers(name), body }; status 0 when the network failed. */
function send(method, url, headers, body, onSent) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [k, v] of Object.entries(authHeaders({ ...TUS, ...headers }))) xhr.setRequestHeader(k, v);
    if (onSent) xhr.upload.onprogress = (e) => onSent(e.loaded);
    const done = () => resolve({
      status: xhr.status,
      header: (name) => xhr.getResponseHeader(name),
      body: xhr.responseText,
    });
    xhr.onload = done;
    xhr.onerror = done;
    xhr.ontimeout = done;
    xhr.send(body === undefined ? null : body);
  });
}

function refused(r, what) {
  let code, detail;
  try { ({ code, detail } = JSON.parse(r.body)); } catch { /* not JSON */ }
  if (r.status === 401) window.dispatchEvent(new CustomEvent('docket:unauthorized'));
  return new ApiError(r.status, code, detail || `${what}: HTTP ${r.status}`);
}

/** Whether trying again (after asking the offset) may work. */
const retriable = (status) => status === 0 || status === 409 || status === 423 || status === 460
  || status === 408 || status === 429 || status >= 500;

/**
 * Uploads `file` as `name`; `onSent(bytesOfThisFile)` reports progress (it may go back when a
 * chunk is sent again). `onWaiting(message|null)` tells when it waits for the network. Answers
 * the upload's id.
 */
export async function uploadFile(file, name, { onSent = () => {}, onWaiting = () => {} } = {}) {
  const created = await send('POST', '/v1/uploads', {
    'Upload-Length': String(file.size),
    'Upload-Metadata': `filename ${base64(name)},filetype ${base64(file.type || 'application/octet-stream')}`,
  });
  if (created.status !== 201) throw refused(created, `Creating the upload of ${name}`);
  const url = created.header('Location');
  let offset = 0;
  let failures = 0;
  while (offset < file.size) {
    const chunk = file.slice(offset, Math.min(offset + CHUNK, file.size));
    const checksum = await sha256Base64(chunk);
    const r = await send('PATCH', url, {
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset),
      'Upload-Checksum': `sha256 ${checksum}`,
    }, chunk, (sent) => onSent(offset + sent));
    if (r.status === 204) {
      offset = Number(r.header('Upload-Offset'));
      failures = 0;
      onWaiting(null);
      onSent(offset);
      continue;
    }
    if (!retriable(r.status)) throw refused(r, `Sending ${name}`);
    // The connection dropped or the server is busy: wait, then ask where the upload stands.
    failures += 1;
    onWaiting(r.status === 0 ? 'Connection lost; resuming when it is back…' : 'The server is busy; retrying…');
    await online();
    await sleep(Math.min(500 * 2 ** Math.min(failures, 6), 15_000));
    const head = await send('HEAD', url, {});
    if (head.status === 200) {
      offset = Number(head.header('Upload-Offset'));
      onSent(offset);
    } else if (!retriable(head.status)) {
      throw refused(head, `Resuming ${name}`);
    }
  }
  onWaiting(null);
  return url.split('/').pop();
}

/**
 * Uploads every file with tus, then creates the job from the uploads. `onProgress(done,
 * total)` counts bytes of all files; `onFile(index, done, size)` one file's. The job's
 * Idempotency-Key makes a retried create safe.
 */
export async function submitResumable(files, options, {
  onProgress = () => {}, onFile = () => {}, onWaiting = () => {}, key = randomKey(),
} = {}) {
  const total = files.reduce((s, f) => s + f.file.size, 0);
  const sent = files.map(() => 0);
  const ids = [];
  for (const [i, { file, name }] of files.entries()) {
    ids.push(await uploadFile(file, name, {
      onWaiting,
      onSent(n) {
        sent[i] = n;
        onFile(i, n, file.size);
        onProgress(sent.reduce((a, b) => a + b, 0), total);
      },
    }));
  }
  const body = { kind: 'process', source: { uploads: ids }, options };
  for (let failures = 1; ; failures += 1) {
    try {
      return await api('/v1/jobs', { method: 'POST', body, headers: { 'Idempotency-Key': key } });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 0) throw err;
      onWaiting('Connection lost; creating the job when it is back…');
      await online();
      await sleep(Math.min(500 * 2 ** Math.min(failures, 6), 15_000));
    }
  }
}
