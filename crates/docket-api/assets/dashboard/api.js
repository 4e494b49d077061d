// The /v1 client: bearer token from localStorage, problem+json errors as ApiError.

const KEY = 'docket.token';

export function token() {
  try { return localStorage.getItem(KEY) || ''; } catch { return ''; }
}

export function setToken(value) {
  try {
    if (value) localStorage.setItem(KEY, value); else localStorage.removeItem(KEY);
  } catch { /* private mode: the token lives for this page only */ }
  memory = value || '';
}

let memory = '';
const current = () => token() || memory;

/** An error answer of the API: `detail` is meant for people, `code` for programs. */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.code = code || 'http_' + status;
    this.detail = this.message;
  }
}

/** Tells the app that the token was refused (so it can ask for another one). */
function unauthorized() {
  window.dispatchEvent(new CustomEvent('docket:unauthorized'));
}

export function authHeaders(extra = {}) {
  const t = current();
  return t ? { Authorization: `Bearer ${t}`, ...extra } : { ...extra };
}

export async function errorFrom(response) {
  let code, detail;
  try {
    const body = await response.json();
    code = body.code;
    detail = body.detail || body.title;
  } catch { /* not JSON: a proxy's page, say */ }
  if (response.status === 401) unauthorized();
  return new ApiError(response.status, code, detail || `${response.status} ${response.statusText}`);
}

/** `fetch` with the token; JSON in and out. `as`: 'json' (default), 'text', 'blob' or 'response'. */
export async function api(path, { method = 'GET', body, headers = {}, as = 'json', signal } = {}) {
  const init = { method, headers: authHeaders(headers), signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  if (as === 'response') return response;
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  if (as === 'text') return response.text();
  if (as === 'blob') return response.blob();
  return response.json();
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

export function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Downloads an authenticated resource (a plain link cannot carry the token). */
export async function download(path, fallbackName) {
  const response = await api(path, { as: 'response' });
  if (!response.ok) throw await errorFrom(response);
  const disposition = response.headers.get('content-disposition') || '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  let name = fallbackName;
  if (m) { try { name = decodeURIComponent(m[1]); } catch { name = m[1]; } }
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
