// Live news over WebSocket: a browser cannot put the bearer token on a WebSocket, so each
// connection first asks for a one-minute ticket (`POST /v1/ws-tickets`) and sends it as
// `?ticket=`. A dropped connection reconnects with `?after=` the last item event seen, so
// nothing is missed or repeated; messages are `{event, id?, data}` as `ws.rs` frames them.

import { api } from './api.js';

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/** The WebSocket route that carries what the SSE route `stream` carries, or null. */
export function wsPathFor(stream) {
  if (stream === '/v1/events') return '/v1/ws';
  const m = /^(\/v1\/jobs\/[^/?]+)\/events$/.exec(stream);
  return m ? `${m[1]}/ws` : null;
}

/**
 * Opens `path` (a WebSocket route) until `close()` or an `end` message. Callbacks as
 * `openEventStream`'s: onEvent({type, data, id}) with `data` parsed, onState, onOpen, and
 * onUnsupported(reason) when no WebSocket can be opened at all (the caller uses SSE then).
 */
export function openWebSocket(path, {
  onEvent, onState = () => {}, onOpen = () => {}, onUnsupported = () => {},
  baseDelayMs = 1000, maxDelayMs = 30000,
} = {}) {
  const stop = new AbortController();
  let after = '';
  let ended = false;
  let everOpened = false;
  let socket = null;

  function connectOnce() {
    return new Promise((resolve) => {
      (async () => {
        let ticket;
        try {
          ({ ticket } = await api('/v1/ws-tickets', { method: 'POST' }));
        } catch (e) {
          resolve({ fatal: e && e.status === 401, opened: false });
          return;
        }
        if (stop.signal.aborted) { resolve({ opened: false }); return; }
        const url = new URL(path, location.href);
        url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
        url.searchParams.set('ticket', ticket);
        if (after) url.searchParams.set('after', after);
        let opened = false;
        try {
          socket = new WebSocket(url);
        } catch {
          resolve({ opened: false });
          return;
        }
        const abort = () => socket.close(1000);
        stop.signal.addEventListener('abort', abort, { once: true });
        socket.onopen = () => {
          opened = true;
          everOpened = true;
          onState('live');
          onOpen();
        };
        socket.onmessage = (m) => {
          let msg;
          try { msg = JSON.parse(m.data); } catch { return; }
          if (msg.id !== undefined && msg.id !== null) after = String(msg.id);
          if (msg.event === 'end') ended = true;
          onEvent({ type: msg.event, data: msg.data, id: msg.id === undefined ? '' : String(msg.id) });
        };
        socket.onclose = () => {
          stop.signal.removeEventListener('abort', abort);
          resolve({ opened });
        };
      })();
    });
  }

  (async () => {
    let failures = 0;
    onState('connecting');
    while (!stop.signal.aborted && !ended) {
      const r = await connectOnce();
      if (stop.signal.aborted || ended) break;
      if (r.fatal) break;
      // Never opened once: something between does not pass WebSockets. Use SSE instead.
      if (!everOpened && !r.opened) { onUnsupported('the WebSocket did not open'); return; }
      failures = r.opened ? 0 : failures + 1;
      const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures, 10));
      onState('reconnecting');
      await sleep(delay / 2 + Math.random() * delay / 2, stop.signal);
    }
    onState('closed');
  })();

  return {
    close() { stop.abort(); if (socket) socket.close(1000); },
  };
}
