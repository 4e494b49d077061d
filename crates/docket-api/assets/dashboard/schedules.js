// Recurring jobs: each schedule's cadence, job, next and last run, the jobs its latest ticks
// made; a form to add one (a server folder, or synthetic items); pause, resume and delete.

import { api } from './api.js';
import { h, clear, heading, badge, time, errorBox, announce } from './ui.js';

const REFRESH_MS = 5000;

function describeJob(job) {
  if (job.kind === 'process') return `process the folder ${job.source.path}`;
  if (job.kind === 'noop') return `${job.source.count} synthetic item${job.source.count === 1 ? '' : 's'}`;
  return job.kind;
}

function runsList(schedule) {
  if (!schedule.runs.length) return h('p', { class: 'muted' }, 'No run yet.');
  return h('ul', { class: 'runs' }, ...schedule.runs.slice(0, 5).map((r) => h('li', {},
    time(r.tick), ' — ',
    r.job_id
      ? h('a', { href: `#/jobs/${encodeURIComponent(r.job_id)}` }, r.job_id)
      : h('span', { class: 'error-text' }, r.error || 'no job'),
    r.job_state ? [' ', badge(r.job_state)] : null)));
}

export function render(main) {
  const failure = h('div', {});
  const list = h('div', { class: 'schedules', 'aria-live': 'polite' });
  const cron = h('input', { type: 'text', id: 'sch-cron', name: 'cron', required: true,
    value: '0 2 * * *', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'sch-cron-help' });
  const zone = h('input', { type: 'text', id: 'sch-tz', name: 'timezone', required: true,
    value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', autocomplete: 'off' });
  const folder = h('input', { type: 'text', id: 'sch-path', name: 'path',
    placeholder: '/srv/scans/drop', autocomplete: 'off', spellcheck: 'false' });
  const count = h('input', { type: 'number', id: 'sch-count', name: 'count', min: '1', placeholder: 'or a number of synthetic items' });
  const formError = h('div', {});
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add schedule');
  const form = h('form', { class: 'card schedule-form', 'aria-labelledby': 'sch-new-h' },
    h('h2', { id: 'sch-new-h' }, 'New schedule'),
    h('div', { class: 'field' }, h('label', { for: 'sch-cron' }, 'Cron'), cron,
      h('p', { class: 'help', id: 'sch-cron-help' },
        'minute hour day month weekday, e.g. ', h('code', {}, '0 2 * * *'), ' (02:00 every night) or ',
        h('code', {}, '@hourly'))),
    h('div', { class: 'field' }, h('label', { for: 'sch-tz' }, 'Time zone'), zone),
    h('div', { class: 'field' }, h('label', { for: 'sch-path' }, 'Folder on the server'), folder),
    h('div', { class: 'field' }, h('label', { for: 'sch-count' }, 'Synthetic items'), count),
    formError, add);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(formError);
    const path = folder.value.trim();
    const n = Number(count.value);
    const job = path
      ? { kind: 'process', source: { path } }
      : { kind: 'noop', source: { count: n || 1 } };
    add.disabled = true;
    try {
      const s = await api('/v1/schedules', { method: 'POST',
        body: { cron: cron.value.trim(), timezone: zone.value.trim(), job } });
      announce(`Schedule added; next run ${s.next_run_at}`);
      folder.value = '';
      count.value = '';
      await refresh();
    } catch (err) {
      formError.append(errorBox(err));
    } finally {
      add.disabled = false;
    }
  });

  async function act(schedule, what) {
    clear(failure);
    try {
      if (what === 'delete') {
        await api(`/v1/schedules/${encodeURIComponent(schedule.id)}`, { method: 'DELETE', as: 'response' });
        announce('Schedule deleted');
      } else {
        await api(`/v1/schedules/${encodeURIComponent(schedule.id)}`, { method: 'PATCH',
          body: { enabled: what === 'resume' } });
        announce(what === 'resume' ? 'Schedule resumed' : 'Schedule paused');
      }
      await refresh();
    } catch (err) {
      failure.append(errorBox(err));
    }
  }

  const card = (s) => h('article', { class: 'card schedule', dataset: { scheduleId: s.id } },
    h('div', { class: 'hit-head' },
      h('h2', {}, h('code', {}, s.cron), ` (${s.timezone})`),
      badge(s.enabled ? 'running' : 'paused', s.enabled ? 'active' : 'paused')),
    h('p', {}, describeJob(s.job)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Next run'), h('dd', { class: 'next-run' }, s.enabled ? time(s.next_run_at) : 'paused'),
      h('dt', {}, 'Last run'), h('dd', {}, time(s.last_run_at)),
      s.last_error ? [h('dt', {}, 'Last error'), h('dd', { class: 'error-text' }, s.last_error)] : null),
    runsList(s),
    h('div', { class: 'row' },
      h('button', { type: 'button', onclick: () => act(s, s.enabled ? 'pause' : 'resume') },
        s.enabled ? 'Pause' : 'Resume'),
      h('button', { type: 'button', class: 'quiet', onclick: () => act(s, 'delete') }, 'Delete')));

  async function refresh() {
    try {
      const page = await api('/v1/schedules?limit=100');
      clear(list);
      if (!page.items.length) list.append(h('p', { class: 'muted' }, 'No schedules yet.'));
      else list.append(...page.items.map(card));
    } catch (err) {
      clear(failure).append(errorBox(err));
    }
  }

  clear(main).append(h('div', { class: 'page-head' }, heading('Schedules')), failure, list, form);
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}
