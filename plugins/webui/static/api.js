// The REST API: the token kept in localStorage, JSON in and out, errors as ApiError.

import { T } from './i18n.js';

// Every sentence this module may show a person: its part of the catalogue (i18n/en.js, ru.js).
const TEXT = T.api;

const TOKEN_KEY = 'wamulti.token';
const USER_KEY = 'wamulti.user';

export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const error = (body && body.error) || {};
    super(error.message || TEXT.answered(status));
    this.status = status;
    this.code = error.code || 'error';
    this.fields = error.fields || null;
    this.state = error.state || null;
    this.retryAfter = retryAfter;
    this.detail = error; // the error object as the API sent it (some add keys: points, state...)
  }
}

export const auth = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  get user() {
    try {
      return JSON.parse(localStorage.getItem(USER_KEY) || 'null');
    } catch {
      return null;
    }
  },
  save(token, user) {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    if (user) localStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() {
    const user = this.user;
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
    if (user) localStorage.removeItem(`wamulti.seen.${user.id}`);
  },
};

let unauthorized = () => {};

/** Called with the ApiError when a request that carried the token gets 401. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/**
 * A JSON request with the token. ``quiet401``: a 401 is the answer to this request (a wrong
 * current password), not a sign that the token is dead, so it does not sign out.
 */
export async function request(method, path, body, { quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  const token = auth.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw networkError();
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers.get('Retry-After'));
    if (response.status === 401 && token && !quiet401) unauthorized(error);
    throw error;
  }
  return data;
}

function authHeaders() {
  const token = auth.token;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function networkError() {
  return new ApiError(0, { error: { code: 'network', message: TEXT.unreachable } });
}

/** A file the API serves (a message's media) as a Blob, fetched with the token. */
export async function fetchBlob(path) {
  const headers = authHeaders();
  let response;
  try {
    response = await fetch(path, { headers, cache: 'no-store' });
  } catch {
    throw networkError();
  }
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    const error = new ApiError(response.status, data, response.headers.get('Retry-After'));
    if (response.status === 401 && headers.Authorization) unauthorized(error);
    throw error;
  }
  return response.blob();
}

// Types the upload route reads as something else than a file: a JSON body is an {url} to fetch.
const NOT_A_FILE_TYPE = /^(application\/json|multipart\/)/i;

/**
 * Upload a file as the raw body, with its own Content-Type and ?filename=. XMLHttpRequest, not
 * fetch, for its upload progress: ``onProgress(fraction)``. ``signal`` (an AbortSignal) cancels.
 * Resolves with the API's answer; rejects with an ApiError (code 'aborted' when cancelled).
 */
export function uploadFile(path, file, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const headers = authHeaders();
    xhr.open('POST', `${path}${query({ filename: file.name })}`);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('Accept', 'application/json');
    const type = file.type && !NOT_A_FILE_TYPE.test(file.type) ? file.type : 'application/octet-stream';
    xhr.setRequestHeader('Content-Type', type);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.total ? event.loaded / event.total : 1);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
        return;
      }
      const error = new ApiError(xhr.status, data, xhr.getResponseHeader('Retry-After'));
      if (xhr.status === 401 && headers.Authorization) unauthorized(error);
      reject(error);
    });
    // A connection cut while sending: the server drops one whose body is far over its limit.
    xhr.addEventListener('error', () => reject(new ApiError(0, { error: { code: 'network', message: TEXT.uploadCut } })));
    xhr.addEventListener('abort', () => reject(new ApiError(0, { error: { code: 'aborted', message: TEXT.uploadCancelled } })));
    if (signal) {
      if (signal.aborted) {
        reject(new ApiError(0, { error: { code: 'aborted', message: TEXT.uploadCancelled } }));
        return;
      }
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(file);
  });
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body),
  put: (path, body, options) => request('PUT', path, body, options),
  del: (path) => request('DELETE', path),
};

/** Query string from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
