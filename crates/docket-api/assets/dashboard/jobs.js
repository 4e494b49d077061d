// The jobs list, and the job card (progress, counts, rate, ETA, state, controls) it shares
// with the job page and the upload form.

import { api, query } from './api.js';
import { live } from './live.js';
import {
  h, clear, announce, badge, updateBadge, progress, setProgress, stateText, num, rate, eta, time,
  heading,
} from './ui.js';

const FINISHED = new Set(['completed', 'failed', 'cancelled']);
export const isFinished = (job) => FINISHED.has(job.state);

/** Which controls make sense in a state (the server answers 409 to the others anyway). */
export function allowed(job) {
  const active = job.state === 'running' || job.state === 'queued';
  return {
    pause: active && !job.pause_requested,
    resume: job.state === 'paused' || (active && job.pause_requested),
    cancel: !isFinished(job),
  };
}

function summary(job) {
  const c = job.counts || {};
  const done = (c.succeeded || 0) + (c.failed || 0) + (c.cancelled || 0);
  const parts = [`${num(done)} of ${num(c.total)} done`];
  if (c.succeeded) parts.push(`${num(c.succeeded)} succeeded`);
  if (c.failed) parts.push(`${num(c.failed)} failed`);
  if (c.cancelled) parts.push(`${num(c.cancelled)} cancelled`);
  if (c.running) parts.push(`${num(c.running)} running`);
  if (c.retrying) parts.push(`${num(c.retrying)} retrying`);
  return parts.join(' · ');
}

function took(job) {
  const start = Date.parse(job.started_at || job.created_at);
  const end = Date.parse(job.finished_at);
  return Number.isNaN(start) || Number.isNaN(end) ? 'finished' : `took ${eta((end - start) / 1000)}`;
}

/**
 * A job's card. `update(job)` patches it in place (cheap enough for several updates a second
 * per job); `onChange(job)` hears about the answers of the control buttons.
 */
export function jobCard(job, { link = true, onChange = () => {} } = {}) {
  let current = job;
  const title = link
    ? h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'job-id' }, job.id)
    : h('span', { class: 'job-id' }, job.id);
  const state = badge(job.state, stateText(job));
  const bar = progress(job.progress, `Progress of ${job.id}`);
  const counts = h('span', { class: 'counts' });
  const speed = h('span', { class: 'rate' });
  const left = h('span', { class: 'eta' });
  const created = h('span', { class: 'muted' });
  const error = h('p', { class: 'notice error', role: 'alert', hidden: true });
  const jobError = h('p', { class: 'notice error', hidden: true });

  const act = async (action, button) => {
    if (action === 'cancel' && !confirm(`Cancel ${current.id}? Items not finished yet will not run.`)) return;
    error.hidden = true;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const next = await api(`/v1/jobs/${encodeURIComponent(current.id)}/${action}`, { method: 'POST' });
      update(next);
      onChange(next);
      announce(`Job ${next.id} is ${stateText(next)}`);
    } catch (e) {
      error.textContent = e.detail || e.message;
      error.hidden = false;
      setButtons(current);
    } finally {
      button.removeAttribute('aria-busy');
    }
  };
  const buttons = {};
  for (const [action, label] of [['pause', 'Pause'], ['resume', 'Resume'], ['cancel', 'Cancel']]) {
    buttons[action] = h('button', {
      type: 'button', class: action === 'cancel' ? 'danger' : '', dataset: { action },
      'aria-label': `${label} job ${job.id}`,
    }, label);
    buttons[action].addEventListener('click', () => act(action, buttons[action]));
  }
  const setButtons = (j) => {
    const ok = allowed(j);
    for (const [action, b] of Object.entries(buttons)) {
      if (b.getAttribute('aria-busy')) continue;
      b.disabled = !ok[action];
    }
  };

  const el = h('article', { class: 'job card', dataset: { jobId: job.id } },
    h('div', { class: 'job-head' },
      title, h('span', { class: 'kind' }, job.kind), state, created),
    bar,
    h('div', { class: 'job-stats' }, counts, speed, left),
    jobError,
    h('div', { class: 'controls' }, buttons.pause, buttons.resume, buttons.cancel),
    error);

  function update(next) {
    // Snapshots can arrive out of order (an action's answer and the stream): keep the newest.
    if (next.updated_at && current.updated_at && next.updated_at < current.updated_at) return;
    current = next;
    el.dataset.state = next.state;
    updateBadge(state, next.state, stateText(next));
    setProgress(bar, next.progress, next.state);
    counts.textContent = summary(next);
    speed.textContent = rate(next.items_per_second);
    left.textContent = isFinished(next) ? took(next)
      : `ETA ${next.state === 'paused' ? '—' : eta(next.eta_seconds)}`;
    clear(created).append('created ', time(next.created_at));
    jobError.textContent = next.error || '';
    jobError.hidden = !next.error;
    setButtons(next);
  }
  update(job);
  return { el, update, get job() { return current; } };
}

// ---- the list -----------------------------------------------------------------------------

const PAGE = 25;

export function render(main, params) {
  const stateFilter = params.get('state') || '';
  const cards = new Map();
  let cursor = null;
  const list = h('ol', { class: 'jobs', 'aria-label': 'Jobs' });
  const empty = h('p', { class: 'empty', hidden: true },
    'No jobs yet. ', h('a', { href: '#/upload' }, 'Upload some documents'), ' to start one.');
  const more = h('button', { type: 'button', hidden: true }, 'Show older jobs');
  const failure = h('div', {});
  const filter = h('select', { id: 'job-state', onchange: (e) => {
    location.hash = '#/jobs' + query({ state: e.target.value });
  } },
  ['', 'queued', 'running', 'paused', 'completed', 'failed', 'cancelled'].map((s) =>
    h('option', { value: s, selected: s === stateFilter }, s || 'any state')));

  clear(main).append(
    h('div', { class: 'page-head' }, heading('Jobs'),
      h('label', { class: 'inline' }, 'State ', filter),
      h('a', { class: 'button primary', href: '#/upload' }, 'New job')),
    failure, empty, list, more);

  // Newest first, as the API lists them (ids sort by creation).
  const upsert = (job, { fromStream = false } = {}) => {
    if (stateFilter && job.state !== stateFilter && !cards.has(job.id)) return;
    const card = cards.get(job.id);
    if (card) { card.update(job); return; }
    // A job the stream knows but the loaded pages do not: new, or older than the last page.
    if (fromStream && cursor && list.lastElementChild
        && job.id < list.lastElementChild.dataset.jobId) return;
    const created = jobCard(job, { onChange: (j) => upsert(j) });
    cards.set(job.id, created);
    const li = h('li', { dataset: { jobId: job.id } }, created.el);
    const after = [...list.children].find((other) => other.dataset.jobId < job.id);
    list.insertBefore(li, after || null);
    empty.hidden = true;
  };

  const load = async (next) => {
    const page = await api('/v1/jobs' + query({ limit: PAGE, cursor: next, state: stateFilter }));
    for (const job of page.items) upsert(job);
    if (!next || cursor === next) cursor = page.next_cursor;
    more.hidden = !cursor;
    empty.hidden = cards.size > 0;
    return page;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try { await load(cursor); } catch (e) { showError(e); } finally { more.disabled = false; }
  });
  const showError = (e) => {
    clear(failure).append(h('p', { class: 'notice error', role: 'alert' }, e.detail || e.message));
  };

  let watcher = null;
  let stopped = false;
  load(null).then(() => {
    if (stopped) return;
    clear(failure);
    watcher = live({
      stream: '/v1/events',
      onEvent({ type, data }) {
        if (type === 'job' && data && data.id) upsert(data, { fromStream: true });
      },
      // Polling: the first page again (new jobs appear), plus every loaded job still moving.
      async poll() {
        const page = await api('/v1/jobs' + query({ limit: PAGE, state: stateFilter }));
        for (const job of page.items) upsert(job);
        const seen = new Set(page.items.map((j) => j.id));
        const moving = [...cards.values()].map((c) => c.job)
          .filter((j) => !seen.has(j.id) && !isFinished(j)).slice(0, 20);
        await Promise.all(moving.map(async (j) => {
          try { upsert(await api(`/v1/jobs/${encodeURIComponent(j.id)}`)); } catch { /* gone */ }
        }));
        clear(failure);
        return true;
      },
      interval: 1000,
    });
  }).catch(showError);

  return () => { stopped = true; if (watcher) watcher.stop(); };
}
