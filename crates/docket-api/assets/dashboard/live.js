// Live updates for a view: the WebSocket feed first; the event stream (SSE) when no WebSocket
// gets through; polling when the server has neither (404), when something between answers
// with anything but a stream, or when a proxy buffers it.

import { openEventStream } from './sse.js';
import { openWebSocket, wsPathFor } from './ws.js';
import { setConnection } from './ui.js';

/**
 * stream:   URL of the event stream
 * onEvent:  ({type, data, id}) for each event; `data` is parsed JSON when it is JSON
 * onOpen:   the stream (re)connected: catch up on what happened before it did
 * poll:     async () => boolean; called every `interval` ms in polling mode; false stops polling
 * Returns { stop() }.
 */
export function live({ stream, onEvent, onOpen = () => {}, poll, interval = 1000 }) {
  let stopped = false;
  let timer = null;
  let sse = null;
  let ws = null;

  const pollLoop = async () => {
    if (stopped) return;
    let again = true;
    let wait = interval;
    try {
      again = await poll();
      setConnection('polling');
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      setConnection('offline', e && e.detail);
      wait = Math.min(interval * 5, 10000);
    }
    if (!stopped && again !== false) timer = setTimeout(pollLoop, wait);
    else if (!stopped) setConnection('idle');
  };

  const connection = (state) => {
    if (stopped) return;
    if (state === 'live') setConnection('live');
    else if (state === 'reconnecting') setConnection('reconnecting');
    else if (state === 'closed') setConnection('idle');
  };

  const openSse = () => { sse = openEventStream(stream, {
    onEvent(ev) {
      let data = ev.data;
      try { data = JSON.parse(ev.data); } catch { /* plain text */ }
      onEvent({ type: ev.type, data, id: ev.id });
    },
    onOpen,
    onRestart: onOpen,
    onState: connection,
    onUnsupported() {
      if (stopped) return;
      setConnection('polling');
      pollLoop();
    },
  }); };

  const wsPath = wsPathFor(stream);
  if (wsPath && typeof WebSocket === 'function') {
    ws = openWebSocket(wsPath, {
      onEvent,
      onOpen,
      onState: connection,
      onUnsupported() { if (!stopped) openSse(); },
    });
  } else {
    openSse();
  }

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (ws) ws.close();
      if (sse) sse.close();
    },
  };
}
