// The upload form: drop files or folders (or pick them), optional options JSON, then each file
// as a resumable (tus) upload and one POST /v1/jobs naming them; a lost connection is waited
// out and the uploads go on from what the server has. The created job is shown live below.

import { api } from './api.js';
import { submitResumable } from './tus.js';
import { live } from './live.js';
import { jobCard } from './jobs.js';
import { h, add, clear, heading, bytes, num, progress, setProgress, announce, errorBox } from './ui.js';

const LISTED = 200;

/** Every file under a dropped directory entry, with its relative path. */
async function walk(entry, prefix, out) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    out.push({ file, name: prefix + file.name });
  } else if (entry.isDirectory) {
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
    }
  }
}

export function render(main) {
  let files = [];
  let watcher = null;
  const fileInput = h('input', { type: 'file', id: 'files', multiple: true, class: 'visually-hidden' });
  const dirInput = h('input', { type: 'file', id: 'folder', class: 'visually-hidden' });
  dirInput.setAttribute('webkitdirectory', '');
  const summary = h('p', { id: 'file-summary', class: 'muted', 'aria-live': 'polite' }, 'No files chosen.');
  const names = h('ul', { class: 'file-list' });
  const clearButton = h('button', { type: 'button', class: 'quiet', hidden: true }, 'Clear');
  const options = h('textarea', {
    id: 'options', name: 'options', rows: '3', spellcheck: 'false',
    placeholder: '{"max_workers": 2, "max_retries": 3}', 'aria-describedby': 'options-help',
  });
  const submit = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Start job');
  const bar = progress(0, 'Upload progress');
  bar.hidden = true;
  const percent = h('span', { id: 'upload-percent', class: 'muted', 'aria-live': 'off' }, '');
  const waiting = h('p', { id: 'upload-waiting', class: 'help', role: 'status', hidden: true }, '');
  const message = h('div', {});
  const result = h('div', { id: 'created' });

  const drop = h('div', { class: 'drop', id: 'drop' },
    h('p', {}, h('strong', {}, 'Drop files or folders here')),
    h('p', {}, 'or ',
      fileInput, h('label', { for: 'files', class: 'button' }, 'Choose files'), ' ',
      dirInput, h('label', { for: 'folder', class: 'button' }, 'Choose a folder')));

  const show = () => {
    const total = files.reduce((s, f) => s + f.file.size, 0);
    summary.textContent = files.length
      ? `${num(files.length)} file${files.length === 1 ? '' : 's'}, ${bytes(total)}`
      : 'No files chosen.';
    add(clear(names), files.slice(0, LISTED).map((f) =>
      h('li', {}, f.name, h('span', { class: 'muted' }, ` ${bytes(f.file.size)}`),
        h('span', { class: 'file-percent muted', 'data-file': f.name }, ''))),
    files.length > LISTED ? h('li', { class: 'muted' }, `… and ${num(files.length - LISTED)} more`) : null);
    clearButton.hidden = !files.length;
    submit.disabled = !files.length;
  };
  // The same file added twice (picked again, or dropped after being picked) is sent once.
  const key = (f) => `${f.name}\u0000${f.file.size}\u0000${f.file.lastModified}`;
  const addFiles = (list) => {
    const seen = new Set(files.map(key));
    for (const f of list) if (!seen.has(key(f))) { files.push(f); seen.add(key(f)); }
    show();
  };

  fileInput.addEventListener('change', () => {
    addFiles([...fileInput.files].map((file) => ({ file, name: file.name })));
    fileInput.value = '';
  });
  dirInput.addEventListener('change', () => {
    addFiles([...dirInput.files].map((file) => ({ file, name: file.webkitRelativePath || file.name })));
    dirInput.value = '';
  });
  clearButton.addEventListener('click', () => { files = []; show(); });
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  drop.addEventListener('dragleave', (e) => {
    if (!drop.contains(e.relatedTarget)) drop.classList.remove('over');
  });
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const entries = [...(e.dataTransfer.items || [])]
      .map((i) => (i.kind === 'file' && i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
    if (entries.length && entries.every(Boolean)) {
      const out = [];
      try {
        for (const entry of entries) await walk(entry, '', out);
      } catch (err) {
        clear(message).append(errorBox(new Error(`Some dropped files could not be read: ${err.message || err}`)));
      }
      addFiles(out);
    } else {
      addFiles([...e.dataTransfer.files].map((file) => ({ file, name: file.name })));
    }
  });

  const form = h('form', { class: 'upload card', novalidate: true },
    drop,
    h('div', { class: 'row' }, summary, clearButton),
    names,
    h('label', { for: 'options' }, 'Options ', h('span', { class: 'muted' }, '(JSON, optional)')),
    options,
    h('p', { id: 'options-help', class: 'help' },
      'For example ', h('code', {}, 'max_workers'), ', ', h('code', {}, 'max_retries'), ', ',
      h('code', {}, 'auto_pause_after'), ', ', h('code', {}, 'item_timeout_seconds'), ', ',
      h('code', {}, 'deadline_seconds'), ', ', h('code', {}, 'notify_url'), '.'),
    h('div', { class: 'row' }, submit, bar, percent),
    waiting,
    message);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(message);
    let opts;
    const raw = options.value.trim();
    if (raw) {
      try { opts = JSON.parse(raw); } catch (err) {
        options.setAttribute('aria-invalid', 'true');
        clear(message).append(errorBox(new Error(`The options are not valid JSON: ${err.message}`)));
        options.focus();
        return;
      }
      if (!opts || typeof opts !== 'object' || Array.isArray(opts)) {
        options.setAttribute('aria-invalid', 'true');
        clear(message).append(errorBox(new Error('The options must be a JSON object, like {"max_workers": 2}.')));
        options.focus();
        return;
      }
    }
    options.removeAttribute('aria-invalid');
    submit.disabled = true;
    submit.textContent = 'Uploading…';
    bar.hidden = false;
    setProgress(bar, 0);
    try {
      const perFile = [...names.querySelectorAll('.file-percent')];
      const job = await submitResumable(files, opts, {
        onProgress: (done, total) => {
          const pct = total ? (done / total) * 100 : 100;
          setProgress(bar, pct);
          percent.textContent = `${pct.toFixed(0)}%`;
        },
        onFile: (i, done, size) => {
          if (perFile[i]) perFile[i].textContent = ` ${size ? ((done / size) * 100).toFixed(0) : 100}%`;
        },
        onWaiting: (why) => {
          waiting.hidden = !why;
          waiting.textContent = why || '';
        },
      });
      setProgress(bar, 100);
      files = [];
      show();
      announce(`Job ${job.id} created`);
      if (watcher) watcher.stop();
      const card = jobCard(job);
      clear(result).append(h('h2', {}, 'Created'), card.el);
      watcher = live({
        stream: `/v1/jobs/${encodeURIComponent(job.id)}/events`,
        onEvent({ type, data }) { if (type === 'job' && data && data.id) card.update(data); },
        async poll() {
          const j = await api(`/v1/jobs/${encodeURIComponent(job.id)}`);
          card.update(j);
          return !['completed', 'failed', 'cancelled'].includes(j.state);
        },
      });
    } catch (err) {
      clear(message).append(errorBox(err));
      submit.disabled = !files.length;
    } finally {
      submit.textContent = 'Start job';
      bar.hidden = true;
      percent.textContent = '';
      waiting.hidden = true;
    }
  });

  clear(main).append(
    h('div', { class: 'page-head' }, heading('Upload documents')),
    h('p', { class: 'muted' }, 'PDF, images (OCR), text, Markdown, HTML and DOCX. Each file becomes one item of a new processing job.'),
    form, result);
  show();

  return () => { if (watcher) watcher.stop(); };
}
