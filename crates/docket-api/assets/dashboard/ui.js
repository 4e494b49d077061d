// Small DOM and formatting helpers. Text always goes in as text nodes: nothing from the server
// is ever parsed as HTML.

/** h('a', {href, class, onclick, dataset: {...}, attrs: {...}}, ...children) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Appends children the way h() does (arrays flattened, null and false skipped). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const announcer = () => document.getElementById('announce');

/** Says something to screen readers (polite). */
export function announce(text) {
  const el = announcer();
  if (!el) return;
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 30);
}

const CONNECTION = {
  live: ['Live', 'live'],
  polling: ['Polling', 'polling'],
  reconnecting: ['Reconnecting…', 'warn'],
  offline: ['Offline', 'bad'],
  idle: ['', ''],
};

/** The live-update indicator in the header. */
export function setConnection(mode, detail) {
  const el = document.getElementById('conn');
  if (!el) return;
  const [text, cls] = CONNECTION[mode] || ['', ''];
  if (el.dataset.mode === mode) return;
  el.dataset.mode = mode;
  el.className = 'conn ' + cls;
  el.textContent = text;
  el.title = detail || (mode === 'polling' ? 'Live updates by polling every second' : '');
}

// ---- formatting -------------------------------------------------------------------------

const nf = new Intl.NumberFormat();
export const num = (n) => nf.format(n ?? 0);

export function pct(p) {
  const v = Math.max(0, Math.min(100, Number(p) || 0));
  return (v === 100 || v === 0 ? v.toFixed(0) : v.toFixed(1)) + '%';
}

export function eta(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  let s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const hours = Math.floor(s / 3600);
  s %= 3600;
  if (hours < 48) return `${hours} h ${String(Math.floor(s / 60)).padStart(2, '0')} min`;
  return `${Math.round(hours / 24)} days`;
}

export function rate(r) {
  const v = Number(r) || 0;
  return `${v >= 100 ? Math.round(v) : v.toFixed(v >= 10 ? 1 : 2)} items/s`;
}

export function bytes(n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = Number(n) || 0;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(v >= 10 ? 0 : 1)} ${units[i]}`;
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A <time> element with the local time, and the exact instant in its title. */
export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h('time', { datetime: iso, title: iso }, dtf.format(d));
}

// ---- widgets ----------------------------------------------------------------------------

const LABELS = {
  consecutive_failures: 'too many failures in a row',
  remote_unavailable: 'a remote it needs is down; resumes by itself',
  user: 'by you',
};

/** The text of a job's state badge: a paused job says why. */
export function stateText(job) {
  if (job.state === 'paused') {
    return `paused (${LABELS[job.pause_reason] || job.pause_reason || 'unknown reason'})`;
  }
  if (job.pause_requested && (job.state === 'running' || job.state === 'queued')) return 'pausing…';
  return job.state;
}

export function badge(state, text = state) {
  return h('span', { class: `badge s-${state}`, dataset: { state } }, text);
}

export function updateBadge(el, state, text = state) {
  if (el.dataset.state !== state) {
    el.dataset.state = state;
    el.className = `badge s-${state}`;
  }
  if (el.textContent !== text) el.textContent = text;
}

/** A progress bar (role=progressbar) with its percentage as text. */
export function progress(value, label) {
  const fill = h('span', { class: 'fill' });
  const text = h('span', { class: 'pct' });
  const bar = h('div', {
    class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-label': label,
  }, h('span', { class: 'track' }, fill), text);
  setProgress(bar, value);
  return bar;
}

export function setProgress(bar, value, state) {
  const v = Math.max(0, Math.min(100, Number(value) || 0));
  const s = pct(v);
  if (bar.getAttribute('aria-valuenow') !== String(v)) {
    bar.setAttribute('aria-valuenow', String(v));
    bar.setAttribute('aria-valuetext', s);
    bar.querySelector('.fill').style.width = v + '%';
    bar.querySelector('.pct').textContent = s;
  }
  if (state !== undefined && bar.dataset.state !== state) bar.dataset.state = state;
}

/** An error message box (role=alert), or nothing. */
export function errorBox(error) {
  if (!error) return null;
  return h('p', { class: 'notice error', role: 'alert' }, error.detail || error.message || String(error));
}

/**
 * A server snippet with its matches marked `<mark>…</mark>`: the markers become <mark>
 * elements and everything else text, so a document's own markup is shown, never run.
 */
export function snippet(text) {
  const frag = document.createDocumentFragment();
  const parts = String(text ?? '').split(/(<mark>|<\/mark>)/);
  let marked = false;
  for (const part of parts) {
    if (part === '<mark>') { marked = true; continue; }
    if (part === '</mark>') { marked = false; continue; }
    if (!part) continue;
    frag.append(marked ? h('mark', {}, part) : document.createTextNode(part));
  }
  return frag;
}

/** Sets the page title and moves focus to the heading (for keyboard and screen readers). */
export function heading(text, { focus = true } = {}) {
  document.title = `${text} · Docket`;
  const el = h('h1', { tabindex: '-1' }, text);
  if (focus) queueMicrotask(() => el.isConnected && el.focus({ preventScroll: true }));
  return el;
}
