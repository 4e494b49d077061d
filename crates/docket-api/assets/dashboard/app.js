// The dashboard's entry point: sign-in, hash routing, sign-out.

import { api, token, setToken } from './api.js';
import { h, clear, heading, setConnection } from './ui.js';
import * as jobs from './jobs.js';
import * as job from './job.js';
import * as upload from './upload.js';
import * as search from './search.js';
import * as doc from './document.js';
import * as schedules from './schedules.js';
import { watchRemotes } from './remotes.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signout = document.getElementById('signout');
let cleanup = () => {};
let checking = false; // a sign-in is testing its token: its 401 is expected

const ROUTES = [
  [/^\/?$/, jobs, 'jobs'],
  [/^\/jobs\/?$/, jobs, 'jobs'],
  [/^\/jobs\/([^/]+)$/, job, 'jobs'],
  [/^\/upload$/, upload, 'upload'],
  [/^\/search$/, search, 'search'],
  [/^\/schedules$/, schedules, 'schedules'],
  [/^\/documents\/([^/]+)$/, doc, ''],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  const params = new URLSearchParams(at < 0 ? '' : raw.slice(at + 1));
  return { path, params };
}

function route() {
  cleanup();
  cleanup = () => {};
  setConnection('idle');
  if (!token()) return signIn();
  nav.hidden = false;
  signout.hidden = false;
  watchRemotes(document.getElementById('remotes'));
  const { path, params } = parseHash();
  for (const [pattern, view, section] of ROUTES) {
    const m = pattern.exec(path);
    if (!m) continue;
    for (const a of nav.querySelectorAll('a')) {
      if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    let id;
    try { id = m[1] && decodeURIComponent(m[1]); } catch { id = m[1]; }
    cleanup = view.render(main, params, { id }) || (() => {});
    return;
  }
  clear(main).append(heading('Not found'),
    h('p', {}, 'There is no such page. ', h('a', { href: '#/jobs' }, 'Go to the jobs')));
}

function signIn(message) {
  cleanup();
  cleanup = () => {};
  nav.hidden = true;
  signout.hidden = true;
  const input = h('input', {
    type: 'password', id: 'token', name: 'token', required: true, autocomplete: 'off',
    spellcheck: 'false', placeholder: 'dkt_…', 'aria-describedby': 'token-help',
  });
  const error = h('p', { class: 'notice error', role: 'alert', hidden: !message }, message || '');
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-h' },
    h('h1', { id: 'signin-h' }, 'Sign in'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h('p', { id: 'token-help', class: 'help' },
      h('code', {}, 'docket serve'), ' prints the first token at its first start and saves it in ',
      h('code', {}, './data/token'), '. Make more with ', h('code', {}, 'docket token create --user NAME'), '.'),
    error,
    button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) { input.focus(); return; }
    button.disabled = true;
    error.hidden = true;
    setToken(value);
    checking = true;
    try {
      await api('/v1/jobs?limit=1');
      route();
    } catch (err) {
      setToken('');
      error.textContent = err.status === 401 ? 'This token is not valid (unknown or revoked).' : err.detail;
      error.hidden = false;
      input.focus();
    } finally {
      checking = false;
      button.disabled = false;
    }
  });
  document.title = 'Sign in · Docket';
  clear(main).append(form);
  input.focus();
}

window.addEventListener('docket:unauthorized', () => {
  if (!token() || checking) return;
  setToken('');
  signIn('Your token was refused (revoked or unknown). Sign in again.');
});
signout.addEventListener('click', () => {
  setToken('');
  signIn();
});
window.addEventListener('hashchange', route);
// Another tab signed in or out.
window.addEventListener('storage', (e) => { if (e.key === 'docket.token') route(); });

route();
