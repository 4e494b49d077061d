// A banner while a remote (an OCR provider, a publish target) is down: the jobs that need it
// are paused with `remote_unavailable` and resume by themselves once it answers.

import { api, token } from './api.js';
import { h, clear } from './ui.js';

const EVERY_MS = 5000;
let timer = null;

function describe(remote) {
  const kind = remote.kind === 'ocr' ? 'OCR provider' : 'publish target';
  const since = remote.since ? ` since ${new Date(remote.since).toLocaleString()}` : '';
  const why = remote.last_error ? ` (${remote.last_error})` : '';
  return `The ${kind} ${remote.name} is down${since}${why}.`;
}

async function refresh(banner) {
  if (!token()) {
    banner.hidden = true;
    return;
  }
  try {
    const { remotes } = await api('/v1/remotes');
    const down = remotes.filter((r) => r.state === 'down');
    clear(banner);
    if (down.length) {
      banner.append(...down.map((r) => h('p', {}, describe(r))),
        h('p', {}, 'Jobs that need it are paused and resume by themselves when it answers again.'));
    }
    banner.hidden = down.length === 0;
  } catch {
    // The connection indicator already says when the server cannot be reached.
  }
}

/** Keeps the banner up to date while the page is open. */
export function watchRemotes(banner) {
  if (timer) return;
  refresh(banner);
  timer = setInterval(() => refresh(banner), EVERY_MS);
}
