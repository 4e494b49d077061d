// Full-text search: ranked hits with the server's highlighted snippets (rendered as text with
// <mark> elements, never as HTML). The query lives in the URL, so a search can be linked.

import { api, query } from './api.js';
import { h, clear, heading, snippet, num, errorBox, announce } from './ui.js';

const PAGE = 20;

export function render(main, params) {
  const q = params.get('q') || '';
  const category = params.get('category') || '';
  const job = params.get('job') || '';
  let offset = 0;

  const qInput = h('input', { type: 'search', id: 'q', name: 'q', value: q, required: true,
    autocomplete: 'off', placeholder: 'invoice overdue' });
  const catInput = h('input', { type: 'text', id: 'category', name: 'category', value: category });
  const jobInput = h('input', { type: 'text', id: 'job', name: 'job', value: job, placeholder: 'job_…' });
  const form = h('form', { class: 'search card', role: 'search' },
    h('div', { class: 'field grow' }, h('label', { for: 'q' }, 'Words'), qInput),
    h('div', { class: 'field' }, h('label', { for: 'category' }, 'Category'), catInput),
    h('div', { class: 'field' }, h('label', { for: 'job' }, 'Job'), jobInput),
    h('button', { type: 'submit', class: 'primary' }, 'Search'));
  const status = h('p', { class: 'muted', id: 'search-status', 'aria-live': 'polite' });
  const list = h('ol', { class: 'hits', 'aria-labelledby': 'search-status' });
  const more = h('button', { type: 'button', hidden: true }, 'More results');
  const failure = h('div', {});

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const words = qInput.value.trim();
    if (!words) { qInput.focus(); return; }
    const next = '#/search' + query({ q: words, category: catInput.value.trim(), job: jobInput.value.trim() });
    if (location.hash === next) run(true); else location.hash = next;
  });

  const hit = (x) => h('li', { class: 'hit card', dataset: { documentId: x.document_id } },
    h('div', { class: 'hit-head' },
      h('a', { href: `#/documents/${encodeURIComponent(x.document_id)}` }, x.name),
      x.category ? h('span', { class: 'tag' }, x.category) : null,
      h('span', { class: 'muted score', title: 'Relevance score' }, `score ${x.score}`)),
    h('p', { class: 'snippet' }, snippet(x.snippet)));

  async function run(reset) {
    if (reset) { offset = 0; clear(list); }
    clear(failure);
    more.disabled = true;
    status.textContent = 'Searching…';
    try {
      const r = await api('/v1/search' + query({ q, category, job, limit: PAGE, offset }));
      list.append(...r.hits.map(hit));
      offset += r.hits.length;
      status.textContent = r.total === 0
        ? `Nothing matches “${q}”.`
        : `${num(r.total)} result${r.total === 1 ? '' : 's'} for “${q}”`;
      more.hidden = offset >= r.total || r.hits.length === 0;
      if (reset) announce(status.textContent);
    } catch (e) {
      status.textContent = '';
      failure.append(errorBox(e));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => run(false));

  clear(main).append(h('div', { class: 'page-head' }, heading(q ? `Search: ${q}` : 'Search', { focus: !q })),
    form, failure, status, list, more);
  if (q) run(true); else qInput.focus();
  return () => {};
}
