// Form fields with their labels, hints and error slots, and the API's field errors shown next
// to them. Used by the profile, the catalogue and article editors, and the points adjustment.

import { ApiError } from '../api.js';
import { h } from '../dom.js';
import { describeFieldMessages } from '../errors.js';

/**
 * A labelled field. ``spec``: {name, label, type?, hint?, required?, autocomplete?, value?,
 * multiline?, inputmode?, min?, max?, step?}. ``prefix`` keeps ids unique on the page.
 */
export function field(spec, prefix) {
  const id = `${prefix}-${spec.name}`;
  const described = [spec.hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
  const common = { id, name: spec.name, required: !!spec.required, 'aria-describedby': described };
  const input = spec.multiline
    ? h('textarea', { ...common, rows: spec.rows || 5 })
    : h('input', {
      ...common,
      type: spec.type || 'text',
      autocomplete: spec.autocomplete || 'off',
      inputmode: spec.inputmode,
      min: spec.min,
      max: spec.max,
      step: spec.step,
    });
  if (spec.value !== undefined && spec.value !== null) input.value = String(spec.value);
  return h(
    'div',
    { class: 'field', 'data-field-name': spec.name },
    h('label', { for: id, text: spec.label }),
    input,
    spec.hint ? h('p', { class: 'hint', id: `${id}-hint`, text: spec.hint }) : null,
    h('p', { class: 'field-error', id: `${id}-error`, 'data-field': spec.name }),
  );
}

/** Empty every error slot of ``form`` and the form-wide one. */
export function clearErrors(form, formError) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  if (formError) formError.textContent = '';
}

/**
 * Show ``error`` on ``form``: each of the API's field errors beside its field (the first such
 * field gets the focus), the rest in ``formError`` as ``explain(error)`` words it.
 */
export function showErrors(form, formError, error, explain) {
  const fields = (error instanceof ApiError && error.fields) || {};
  let first = null;
  const loose = [];
  for (const [name, messages] of Object.entries(fields)) {
    const slot = form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`);
    const text = describeFieldMessages(messages);
    const input = form.elements[name];
    if (slot && input) {
      slot.textContent = text;
      input.setAttribute('aria-invalid', 'true');
      first = first || input;
    } else {
      loose.push(`${name}: ${text}`);
    }
  }
  if (!first || loose.length) formError.textContent = [explain(error), ...loose].join(' ');
  first?.focus();
}
