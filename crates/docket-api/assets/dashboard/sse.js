// Server-Sent Events over fetch(): EventSource cannot send an Authorization header, so the
// text/event-stream format is parsed here (WHATWG HTML §9.2), with reconnection that sends
// Last-Event-ID, exponential backoff with jitter, and a heartbeat watchdog.

import { authHeaders, errorFrom } from './api.js';

/** Incremental parser: feed it decoded text, get `{type, data, id}` events and comments. */
export class EventStreamParser {
  constructor(onEvent, onComment = () => {}) {
    this.onEvent = onEvent;
    this.onComment = onComment;
    this.line = '';        // an unfinished line from the previous chunk
    this.afterCR = false;  // the previous chunk ended in CR: a leading LF belongs to it
    this.type = '';
    this.data = [];
    this.idBuffer = '';
    this.lastEventId = '';
    this.retry = null;
  }

  feed(text) {
    let start = 0;
    if (this.afterCR && text.charCodeAt(0) === 10) start = 1;
    this.afterCR = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.processLine(this.line + text.slice(start, i));
      this.line = '';
      if (c === 13) {
        if (i + 1 === text.length) this.afterCR = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.line += text.slice(start);
  }

  processLine(line) {
    if (line === '') return this.dispatch();
    if (line[0] === ':') return this.onComment(line.slice(1).trim());
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    switch (field) {
      case 'event': this.type = value; break;
      case 'data': this.data.push(value); break;
      case 'id': if (!value.includes('\0')) this.idBuffer = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.retry = Number(value); break;
      default: break; // unknown fields are ignored
    }
  }

  dispatch() {
    this.lastEventId = this.idBuffer;
    const { type, data } = this;
    this.type = '';
    this.data = [];
    if (data.length === 0) return;
    this.onEvent({ type: type || 'message', data: data.join('\n'), id: this.lastEventId });
  }

  /** The stream ended: an event without its blank line is dropped, as the spec says. */
  reset() {
    this.line = '';
    this.afterCR = false;
    this.type = '';
    this.data = [];
    this.idBuffer = this.lastEventId;
  }
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/**
 * Opens `url` as an event stream and keeps it open until `close()` or an `end` event.
 *   onEvent({type, data, id})  every event (JSON is left to the caller)
 *   onState(state)             'connecting' | 'live' | 'reconnecting' | 'closed'
 *   onUnsupported(reason)      the server has no such stream (404), answers something else,
 *                              or a proxy holds it back: the caller should poll instead
 *   onOpen()                   a connection opened (before its first event)
 *   onRestart()                the server refused to resume from Last-Event-ID: the next
 *                              connection starts afresh, so state built from events is stale
 * Nothing arriving (not even a `: ping`) for `idleMs` means the connection is dead: reconnect.
 */
export function openEventStream(url, {
  onEvent, onState = () => {}, onUnsupported = () => {}, onOpen = () => {}, onRestart = () => {},
  idleMs = 45000, firstByteMs = 25000, baseDelayMs = 1000, maxDelayMs = 30000,
} = {}) {
  const stop = new AbortController();
  let ended = false;
  const parser = new EventStreamParser((ev) => {
    if (ev.type === 'end') ended = true;
    onEvent(ev);
  });

  async function connectOnce() {
    const attempt = new AbortController();
    const abort = () => attempt.abort();
    stop.signal.addEventListener('abort', abort, { once: true });
    let timer = null;
    let received = false;
    const arm = (ms, why) => {
      clearTimeout(timer);
      timer = setTimeout(() => { attempt.abort(why); }, ms);
    };
    try {
      const headers = authHeaders({ Accept: 'text/event-stream' });
      if (parser.lastEventId) headers['Last-Event-ID'] = parser.lastEventId;
      arm(firstByteMs, 'headers');
      const response = await fetch(url, { headers, cache: 'no-store', signal: attempt.signal });
      if ([404, 405, 501].includes(response.status)) return { unsupported: `HTTP ${response.status}` };
      if (response.status === 401 || response.status === 403) {
        await errorFrom(response);
        return { fatal: true };
      }
      if (response.status === 204) return { fatal: true }; // "do not reconnect"
      if (response.status === 400) {
        // Most likely a Last-Event-ID the server does not know (any more): start afresh.
        if (parser.lastEventId) {
          parser.lastEventId = '';
          parser.idBuffer = '';
          onRestart();
          return { received: true };
        }
        return { unsupported: 'HTTP 400' };
      }
      if (!response.ok) return { received };
      const type = (response.headers.get('content-type') || '').toLowerCase();
      if (!type.startsWith('text/event-stream')) {
        response.body && response.body.cancel().catch(() => {});
        return { unsupported: `answered ${type || 'no content type'}` };
      }
      onState('live');
      onOpen();
      arm(firstByteMs, 'first-byte');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value) {
          received = true;
          arm(idleMs, 'idle');
          parser.feed(value);
          if (ended) { reader.cancel().catch(() => {}); break; }
        }
      }
      return { received };
    } catch (e) {
      // Headers or the first byte never came: a proxy that buffers the stream. Poll instead.
      if (!stop.signal.aborted && !received && attempt.signal.reason === 'first-byte') {
        return { unsupported: 'the stream is held back (a buffering proxy?)' };
      }
      if (!stop.signal.aborted && attempt.signal.reason === 'headers') {
        return { unsupported: 'the stream did not open' };
      }
      return { received };
    } finally {
      clearTimeout(timer);
      stop.signal.removeEventListener('abort', abort);
      parser.reset();
    }
  }

  (async () => {
    let failures = 0;
    onState('connecting');
    while (!stop.signal.aborted && !ended) {
      const r = await connectOnce();
      if (stop.signal.aborted || ended) break;
      if (r.unsupported) { onUnsupported(r.unsupported); return; }
      if (r.fatal) break;
      failures = r.received ? 0 : failures + 1;
      const base = parser.retry ?? baseDelayMs;
      const delay = Math.min(maxDelayMs, base * 2 ** Math.min(failures, 10));
      onState('reconnecting');
      await sleep(delay / 2 + Math.random() * delay / 2, stop.signal);
    }
    onState('closed');
  })();

  return {
    close() { stop.abort(); },
    get lastEventId() { return parser.lastEventId; },
  };
}
