// One document: metadata, thumbnail (when there is one) and extracted text.

import { api, download as fetchFile } from './api.js';
import { h, add, clear, heading, bytes, time, errorBox } from './ui.js';

/** Texts longer than this are shown cut, with a button for the rest (a huge <pre> is slow). */
const SHOWN = 200_000;

export function render(main, params, { id }) {
  const path = `/v1/documents/${encodeURIComponent(id)}`;
  const failure = h('div', {});
  const meta = h('dl', { class: 'details' });
  const figure = h('figure', { class: 'thumb', hidden: true });
  const text = h('pre', { class: 'doc-text', id: 'doc-text', tabindex: '0', 'aria-label': 'Extracted text' });
  const textNote = h('div', {});
  const title = heading('Document');
  const download = h('button', { type: 'button', hidden: true }, 'Download original');
  let objectUrl = null;
  let stopped = false;

  clear(main).append(h('div', { class: 'page-head' }, title, download), failure,
    h('div', { class: 'doc' }, h('section', { class: 'card', 'aria-label': 'Metadata' }, meta), figure),
    h('section', { 'aria-labelledby': 'text-h' }, h('h2', { id: 'text-h' }, 'Text'), textNote, text));

  api(path).then((d) => {
    if (stopped) return;
    title.textContent = d.name;
    document.title = `${d.name} · Docket`;
    const conf = d.confidence === null || d.confidence === undefined ? '' : ` (${Math.round(d.confidence * 100)}%)`;
    const metadata = d.metadata && Object.keys(d.metadata).length ? JSON.stringify(d.metadata, null, 2) : null;
    add(meta,
      h('dt', {}, 'Category'), h('dd', {}, d.category ? `${d.category}${conf}` : '—'),
      h('dt', {}, 'Type'), h('dd', {}, d.media_type),
      h('dt', {}, 'Size'), h('dd', {}, bytes(d.size)),
      h('dt', {}, 'Pages'), h('dd', {}, String(d.pages)),
      h('dt', {}, 'Job'), h('dd', {}, d.job_id
        ? h('a', { href: `#/jobs/${encodeURIComponent(d.job_id)}` }, d.job_id) : '—'),
      h('dt', {}, 'Added'), h('dd', {}, time(d.created_at)),
      h('dt', {}, 'SHA-256'), h('dd', {}, h('code', { class: 'hash' }, d.sha256)),
      h('dt', {}, 'Id'), h('dd', {}, h('code', {}, d.id)),
      metadata ? [h('dt', {}, 'Metadata'), h('dd', {}, h('pre', { class: 'meta-json' }, metadata))] : null);
  }).catch((e) => { if (!stopped) failure.append(errorBox(e)); });

  api(`${path}/text`, { as: 'text' }).then((t) => {
    if (stopped) return;
    const showAll = () => { text.textContent = t; clear(textNote); };
    if (t.length > SHOWN) {
      text.textContent = t.slice(0, SHOWN);
      textNote.append(h('p', { class: 'muted' }, `Showing the first ${SHOWN.toLocaleString()} of ${t.length.toLocaleString()} characters. `,
        h('button', { type: 'button', class: 'quiet', onclick: showAll }, 'Show all')));
    } else if (!t) {
      textNote.append(h('p', { class: 'muted' }, 'No text was extracted from this document.'));
    } else {
      text.textContent = t;
    }
  }).catch((e) => { if (!stopped && e.status !== 404) textNote.append(errorBox(e)); });

  // The thumbnail needs the token too: fetched, then shown from a blob URL; absent on 404.
  api(`${path}/thumbnail`, { as: 'response' }).then(async (r) => {
    if (stopped || !r.ok || !(r.headers.get('content-type') || '').startsWith('image/')) return;
    objectUrl = URL.createObjectURL(await r.blob());
    const img = h('img', { src: objectUrl, alt: 'Thumbnail of the first page' });
    img.addEventListener('error', () => { figure.hidden = true; });
    img.addEventListener('load', () => { figure.hidden = false; });
    figure.append(img);
  }).catch(() => {});

  // Only offered when the server has the file endpoint (a HEAD costs nothing).
  api(`${path}/file`, { method: 'HEAD', as: 'response' }).then((r) => {
    if (!stopped && r.ok) download.hidden = false;
  }).catch(() => {});
  download.addEventListener('click', async () => {
    try {
      await fetchFile(`${path}/file`, title.textContent.split('/').pop() || 'document');
    } catch (e) { failure.append(errorBox(e)); }
  });

  return () => {
    stopped = true;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
  };
}
