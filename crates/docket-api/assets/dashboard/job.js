// One job: its card, details, and the per-document table (paginated with the API's cursor),
// kept live by the job's event stream (job snapshots and item transitions).

import { api, download, query } from './api.js';
import { live } from './live.js';
import { publishControls } from './publish.js';
import { jobCard, isFinished } from './jobs.js';
import {
  h, add, clear, badge, updateBadge, progress, setProgress, heading, time, errorBox, num,
} from './ui.js';

const PAGE = 50;
const ITEM_STATES = ['', 'pending', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'];

function errorsCell(item) {
  const errors = item.errors || [];
  if (!errors.length) return h('span', { class: 'muted' }, '—');
  return h('ul', { class: 'errors' }, errors.map((e) => h('li', {},
    h('span', { class: 'muted' }, `attempt ${e.attempt}: `), e.message,
    e.transient ? h('span', { class: 'tag' }, 'transient') : null)));
}

function itemRow(item) {
  const name = h('td', { class: 'name' });
  const state = badge(item.state);
  const stage = h('td', {});
  const bar = progress(item.progress, `Progress of ${item.name}`);
  const attempts = h('td', { class: 'num' });
  const errors = h('td', { class: 'errors-cell' });
  const tr = h('tr', { dataset: { itemId: item.id } },
    name, h('td', {}, state), stage, h('td', { class: 'bar-cell' }, bar), attempts, errors);
  let shown = null;
  const update = (it) => {
    tr.dataset.state = it.state;
    if (!shown || shown.document_id !== it.document_id || shown.name !== it.name) {
      clear(name).append(it.document_id
        ? h('a', { href: `#/documents/${encodeURIComponent(it.document_id)}` }, it.name)
        : it.name);
    }
    updateBadge(state, it.state);
    stage.textContent = it.state === 'retrying' && it.next_attempt_at
      ? `${it.stage} (next try ${new Date(it.next_attempt_at).toLocaleTimeString()})` : it.stage;
    setProgress(bar, it.progress, it.state);
    attempts.textContent = String(it.attempts);
    if (!shown || JSON.stringify(shown.errors) !== JSON.stringify(it.errors)) {
      clear(errors).append(errorsCell(it));
    }
    shown = it;
  };
  update(item);
  return { tr, update };
}

export function render(main, params, { id }) {
  let stateFilter = params.get('state') || '';
  let watcher = null;
  let stopped = false;
  const rows = new Map();
  // cursors[i] is the cursor that loads page i (page 0: none).
  const cursors = [null];
  let pageIndex = 0;
  let nextCursor = null;
  let finished = false;

  const results = h('div', { class: 'results', role: 'group', 'aria-label': 'Download the results' },
    h('span', { class: 'muted' }, 'Results:'),
    // The flat rows, and the export bundle (texts, metadata, thumbnails and a manifest) as a
    // ZIP or as a BagIt bag in a ZIP.
    [['csv', 'CSV', 'csv'], ['json', 'JSON', 'json'], ['ndjson', 'NDJSON', 'ndjson'],
      ['zip', 'ZIP', 'zip'], ['bagit', 'BagIt', 'bagit.zip']].map(([format, label, ext]) => h('button', {
      type: 'button', class: 'quiet', 'aria-label': `Download the results as ${label}`,
      title: format === 'zip' ? 'Export bundle: manifest.csv, texts, metadata, thumbnails'
        : format === 'bagit' ? 'The export bundle as a BagIt 1.0 bag' : `The results as ${label}`,
      onclick: async () => {
        clear(failure);
        try {
          await download(`/v1/jobs/${encodeURIComponent(id)}/results` + query({ format }), `${id}.${ext}`);
        } catch (e) { showError(e); }
      },
    }, label)));
  const head = h('div', { class: 'page-head' }, heading(`Job ${id}`));
  const publish = publishControls(id, { onError: (e) => showError(e) });
  const tools = h('div', { class: 'toolbar' }, results, publish.el,
    h('a', { class: 'button', href: '#/search' + query({ job: id }) }, 'Search its documents'));
  const cardSlot = h('div', {});
  const details = h('dl', { class: 'details' });
  const failure = h('div', {});
  const tbody = h('tbody', {});
  const caption = h('caption', {}, 'Documents');
  const table = h('table', { class: 'items' }, caption,
    h('thead', {}, h('tr', {},
      ['Name', 'State', 'Stage', 'Progress', 'Attempts', 'Errors'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody);
  const prev = h('button', { type: 'button', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', disabled: true }, 'Next →');
  const pageLabel = h('span', { class: 'muted', 'aria-live': 'polite' });
  const filter = h('select', { id: 'item-state' },
    ITEM_STATES.map((s) => h('option', { value: s, selected: s === stateFilter }, s || 'any state')));
  const deleteButton = h('button', { type: 'button', class: 'danger', hidden: true }, 'Delete job');
  // Priority: the job's share of the workers next to other running jobs (1 : 2 : 4).
  const priority = h('select', {
    id: 'job-priority', 'aria-label': 'Priority',
    title: 'Running jobs share the workers 1 : 2 : 4 (low : normal : high)',
    onchange: async () => {
      clear(failure);
      priority.disabled = true;
      try {
        showJob(await api(`/v1/jobs/${encodeURIComponent(id)}`,
          { method: 'PATCH', body: { priority: priority.value } }));
      } catch (e) { showError(e); }
      priority.disabled = finished;
    },
  }, ['low', 'normal', 'high'].map((p) => h('option', { value: p }, p)));

  clear(main).append(head, failure, cardSlot, tools, details,
    h('section', { 'aria-labelledby': 'items-h' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'items-h' }, 'Documents'),
        h('label', { class: 'inline' }, 'State ', filter)),
      h('div', { class: 'table-wrap' }, table),
      h('div', { class: 'pager' }, prev, pageLabel, next)),
    h('div', { class: 'controls end' }, deleteButton));

  let card = null;
  const showJob = (job) => {
    if (!card) {
      card = jobCard(job, { link: false, onChange: showJob });
      cardSlot.append(card.el);
    } else {
      card.update(job);
    }
    const j = card.job;
    publish.update(j);
    add(clear(details),
      h('dt', {}, 'Kind'), h('dd', {}, j.kind),
      h('dt', {}, 'Priority'), h('dd', {}, priority),
      j.options && j.options.not_before
        ? [h('dt', {}, 'Not before'), h('dd', {}, time(j.options.not_before))] : null,
      h('dt', {}, 'Created'), h('dd', {}, time(j.created_at)),
      h('dt', {}, 'Started'), h('dd', {}, time(j.started_at)),
      h('dt', {}, 'Finished'), h('dd', {}, time(j.finished_at)),
      h('dt', {}, 'In flight'), h('dd', {}, j.current_items && j.current_items.length
        ? j.current_items.join(', ') : '—'),
      h('dt', {}, 'Options'), h('dd', {}, h('code', {}, JSON.stringify(j.options || {}))),
      j.result ? [h('dt', {}, 'Result'), h('dd', {}, h('code', {}, JSON.stringify(j.result)))] : null,
      // An AMI set is processed in the repository: its page is where a person starts it.
      j.result && typeof j.result.process_url === 'string' && /^https?:\/\//.test(j.result.process_url)
        ? [h('dt', {}, 'AMI set'), h('dd', {}, h('a', { href: j.result.process_url, rel: 'noopener noreferrer', target: '_blank' },
          'Process it in the repository'))]
        : null);
    deleteButton.hidden = !isFinished(j);
    const wasFinished = finished;
    finished = isFinished(j);
    if (document.activeElement !== priority) priority.value = (j.options && j.options.priority) || 'normal';
    priority.disabled = finished;
    if (finished && !wasFinished) loadItems().catch(showError);
  };

  const showError = (e) => { clear(failure).append(errorBox(e)); };

  async function loadItems() {
    const cursor = cursors[pageIndex];
    const page = await api(`/v1/jobs/${encodeURIComponent(id)}/items`
      + query({ limit: PAGE, cursor, state: stateFilter }));
    if (stopped) return;
    const keep = new Set(page.items.map((i) => i.id));
    for (const [itemId, row] of rows) if (!keep.has(itemId)) { row.tr.remove(); rows.delete(itemId); }
    let before = null;
    for (const item of [...page.items].reverse()) {
      let row = rows.get(item.id);
      if (row) row.update(item);
      else { row = itemRow(item); rows.set(item.id, row); }
      if (row.tr.nextSibling !== before || row.tr.parentNode !== tbody) tbody.insertBefore(row.tr, before);
      before = row.tr;
    }
    nextCursor = page.next_cursor;
    prev.disabled = pageIndex === 0;
    next.disabled = !nextCursor;
    const first = pageIndex * PAGE + 1;
    pageLabel.textContent = page.items.length
      ? `Page ${pageIndex + 1}: ${num(first)}–${num(first + page.items.length - 1)}`
      : 'No documents' + (stateFilter ? ` in state ${stateFilter}` : '');
    caption.textContent = `Documents, page ${pageIndex + 1}`;
  }

  const onItem = (item) => {
    const row = rows.get(item.id);
    if (row) {
      row.update(item);
    } else if (!nextCursor && rows.size < PAGE && (!stateFilter || item.state === stateFilter)
        && !tbody.querySelector(`[data-item-id="${CSS.escape(item.id)}"]`)) {
      // The last page is not full: a newly listed item belongs at its end.
      const created = itemRow(item);
      rows.set(item.id, created);
      tbody.append(created.tr);
    }
  };

  prev.addEventListener('click', () => { if (pageIndex > 0) { pageIndex--; loadItems().catch(showError); } });
  next.addEventListener('click', () => {
    if (!nextCursor) return;
    cursors[pageIndex + 1] = nextCursor;
    pageIndex++;
    loadItems().catch(showError);
  });
  filter.addEventListener('change', () => {
    stateFilter = filter.value;
    cursors.length = 1;
    pageIndex = 0;
    history.replaceState(null, '', `#/jobs/${encodeURIComponent(id)}` + query({ state: stateFilter }));
    loadItems().catch(showError);
  });
  deleteButton.addEventListener('click', async () => {
    if (!confirm(`Delete ${id} and its files? Its documents stay in the library.`)) return;
    try {
      await api(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
      location.hash = '#/jobs';
    } catch (e) { showError(e); }
  });

  (async () => {
    try {
      showJob(await api(`/v1/jobs/${encodeURIComponent(id)}`));
      await loadItems();
    } catch (e) {
      showError(e);
      if (e.status === 404) return;
    }
    if (stopped) return;
    let opened = 0;
    watcher = live({
      stream: `/v1/jobs/${encodeURIComponent(id)}/events`,
      onEvent({ type, data }) {
        if (type === 'job' && data && data.id) showJob(data);
        else if (type === 'item' && data && data.id) onItem(data);
        else if (type === 'end') loadItems().catch(showError);
      },
      // Catch up on what changed before the stream opened (only on the first connection:
      // a reconnection sends Last-Event-ID and gets every change since).
      onOpen() { if (opened++ === 0) loadItems().catch(showError); },
      async poll() {
        showJob(await api(`/v1/jobs/${encodeURIComponent(id)}`));
        await loadItems();
        return !finished;
      },
    });
  })();

  return () => { stopped = true; if (watcher) watcher.stop(); };
}
