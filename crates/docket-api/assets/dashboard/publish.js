// Publishing a job's documents to a repository target from the server's configuration: a
// target picker, a mode picker and a Publish button. Shown for `process` jobs only; the new
// `publish` job opens once it is accepted.

import { api } from './api.js';
import { h, clear } from './ui.js';

const MODES = [['', 'target default'], ['objects', 'digital objects'], ['ami_set', 'AMI set']];

let targetsOnce = null;

/** The configured targets (asked once per page load). */
function targets() {
  if (!targetsOnce) {
    targetsOnce = api('/v1/publish/targets').then((t) => t.targets)
      .catch((e) => { targetsOnce = null; throw e; });
  }
  return targetsOnce;
}

/** The publish controls of job `id`; `onError` shows a failure. */
export function publishControls(id, { onError }) {
  const target = h('select', { id: 'publish-target', 'aria-label': 'Publish target' });
  const mode = h('select', { id: 'publish-mode', 'aria-label': 'Publish mode' },
    MODES.map(([value, label]) => h('option', { value }, label)));
  const button = h('button', { type: 'button', disabled: true }, 'Publish');
  const box = h('div', { class: 'publish', role: 'group', 'aria-label': 'Publish to a repository', hidden: true },
    h('span', { class: 'muted' }, 'Publish to:'), target, mode, button);

  targets().then((list) => {
    if (!list.length) return;
    clear(target).append(...list.map((t) => h('option', { value: t.name }, `${t.name} (${t.mode})`)));
    box.hidden = false;
  }).catch(onError);

  const update = (job) => {
    button.disabled = !(job.kind === 'process' && job.counts && job.counts.succeeded > 0);
    button.title = button.disabled ? 'Nothing to publish yet: no document has succeeded' : '';
  };

  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const body = { target: target.value };
      if (mode.value) body.mode = mode.value;
      const created = await api(`/v1/jobs/${encodeURIComponent(id)}/publish`, { method: 'POST', body });
      location.hash = `#/jobs/${encodeURIComponent(created.id)}`;
    } catch (e) {
      button.disabled = false;
      onError(e);
    }
  });
  return { el: box, update };
}
