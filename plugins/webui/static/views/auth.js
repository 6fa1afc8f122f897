// Sign in and create an account. The API's messages are shown next to their fields.

import { ApiError, api, auth } from '../api.js';
import { h } from '../dom.js';
import { describeError, describeFieldMessages } from '../errors.js';
import { T } from '../i18n.js';
import { languageSwitch } from './language.js';

const TEXT = T.auth;

const FIELDS = {
  signin: [
    { name: 'username', label: TEXT.username, autocomplete: 'username', required: true },
    { name: 'password', label: TEXT.password, type: 'password', autocomplete: 'current-password', required: true },
  ],
  register: [
    { name: 'username', label: TEXT.username, autocomplete: 'username', required: true, hint: TEXT.usernameHint },
    { name: 'password', label: TEXT.password, type: 'password', autocomplete: 'new-password', required: true, hint: TEXT.passwordHint },
    { name: 'fullName', label: TEXT.fullName, autocomplete: 'name' },
    { name: 'email', label: TEXT.email, type: 'email', autocomplete: 'email' },
  ],
};

function field(spec, mode) {
  const id = `${mode}-${spec.name}`;
  const input = h('input', {
    id,
    name: spec.name,
    type: spec.type || 'text',
    autocomplete: spec.autocomplete,
    required: !!spec.required,
    autocapitalize: 'off',
    spellcheck: 'false',
    'aria-describedby': [spec.hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' '),
  });
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id, text: spec.label }),
    input,
    spec.hint ? h('p', { class: 'hint', id: `${id}-hint`, text: spec.hint }) : null,
    h('p', { class: 'field-error', id: `${id}-error`, 'data-field': spec.name }),
  );
}

/** The sign-in or register page; ``onSignedIn`` runs once a token is stored. */
export function authPage(mode, { notice, onSignedIn }) {
  const register = mode === 'register';
  const specs = FIELDS[register ? 'register' : 'signin'];
  const formError = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary wide', text: register ? TEXT.register : TEXT.signIn });
  const form = h('form', { class: 'auth-form', novalidate: true, 'aria-labelledby': 'auth-title' }, specs.map((s) => field(s, mode)), formError, submit);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    for (const el of form.querySelectorAll('input')) el.removeAttribute('aria-invalid');
    formError.textContent = '';
    const body = {};
    for (const spec of specs) {
      const value = form.elements[spec.name].value;
      if (spec.required || value.trim() !== '') body[spec.name] = spec.name === 'password' ? value : value.trim();
    }
    submit.disabled = true;
    submit.textContent = register ? TEXT.registering : TEXT.signingIn;
    try {
      const answer = await api.post(register ? '/api/auth/register' : '/api/auth/login', body);
      auth.save(answer.token, answer.user);
      onSignedIn(answer.user);
    } catch (error) {
      showErrors(form, formError, error);
      submit.disabled = false;
      submit.textContent = register ? TEXT.register : TEXT.signIn;
    }
  });

  const other = register
    ? h('p', { class: 'switch' }, TEXT.haveAccount, ' ', h('a', { href: '#/signin', text: TEXT.signIn }))
    : h('p', { class: 'switch' }, TEXT.newHere, ' ', h('a', { href: '#/register', text: TEXT.createAccount }));

  const page = h(
    'main',
    { id: 'main', class: 'auth-page', tabindex: '-1' },
    h(
      'div',
      { class: 'auth-card' },
      languageSwitch('auth-language'),
      h('div', { class: 'brand-mark', 'aria-hidden': 'true', text: T.brandMark }),
      h('h1', { id: 'auth-title', text: register ? TEXT.registerTitle : TEXT.signInTitle }),
      h('p', { class: 'lead', text: TEXT.lead }),
      notice ? h('p', { class: 'notice', role: 'status', text: notice }) : null,
      form,
      other,
    ),
  );
  return { element: page, focus: () => form.elements.username.focus() };
}

function showErrors(form, formError, error) {
  const fields = (error instanceof ApiError && error.fields) || {};
  let first = null;
  const loose = [];
  for (const [name, messages] of Object.entries(fields)) {
    const slot = form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`);
    const text = describeFieldMessages(messages);
    if (slot) {
      slot.textContent = text;
      const input = form.elements[name];
      input.setAttribute('aria-invalid', 'true');
      first = first || input;
    } else {
      loose.push(text);
    }
  }
  if (!first || loose.length) formError.textContent = loose.length ? loose.join(' ') : describeError(error);
  (first || form.elements.username).focus();
}
