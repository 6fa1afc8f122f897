// The administrators' form for a product or an article: its fields, and the image URL previewed
// as it is typed (a URL that does not load says so instead).

import { h } from '../dom.js';
import { T } from '../i18n.js';
import { clearErrors, field, showErrors } from './form.js';

const E = T.editor;
const PREVIEW_DELAY_MS = 300;

export function isImageUrl(text) {
  return /^https?:\/\/\S+$/i.test(String(text || '').trim());
}

/** The page's policy lets in images over https:, and its own. */
function mayShow(url) {
  try {
    const parsed = new URL(url.trim());
    return parsed.protocol === 'https:' || parsed.origin === location.origin;
  } catch {
    return false;
  }
}

/** An <img> of an http(s) URL, or the placeholder, in ``slot``; a failed load says so. */
export function imagePreview(url, { alt = '', className = 'image-preview' } = {}) {
  const box = h('div', { class: `${className} image-box` });
  const note = h('p', { class: 'muted image-note', text: E.noImage });
  if (!isImageUrl(url)) {
    box.append(note);
    box.dataset.state = 'none';
    return box;
  }
  if (!mayShow(url)) {
    note.textContent = E.imageNotHttps;
    box.append(note);
    box.dataset.state = 'refused';
    return box;
  }
  const img = h('img', { src: url.trim(), alt, loading: 'lazy', referrerpolicy: 'no-referrer' });
  box.dataset.state = 'loading';
  img.addEventListener('load', () => { box.dataset.state = 'loaded'; });
  img.addEventListener('error', () => {
    box.dataset.state = 'broken';
    img.remove();
    note.textContent = E.imageBroken;
    box.append(note);
  });
  box.append(img);
  return box;
}

export class Editor {
  /**
   * ``specs``: the fields (see form.js), one named ``image``; ``values``: what they hold now;
   * ``save(body)`` sends it (resolves when stored); ``onDone(saved)`` closes the editor.
   */
  constructor({ id, title, specs, values = {}, save, onDone, explain }) {
    this.formError = h('p', { class: 'form-error', role: 'alert' });
    this.heading = h('h2', { id: `${id}-heading`, tabindex: '-1', text: title });
    this.preview = h('div', { class: 'preview-slot', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', class: 'button primary', text: E.save });
    const cancel = h('button', { type: 'button', class: 'button', text: E.cancel, onclick: () => onDone(null) });
    this.form = h(
      'form',
      { class: 'editor-form', novalidate: true, 'aria-labelledby': `${id}-heading` },
      specs.map((spec) => field({ ...spec, value: values[spec.name] ?? '' }, id)),
      h('div', { class: 'preview-field' }, h('p', { class: 'preview-label', text: E.preview }), this.preview),
      this.formError,
      h('div', { class: 'form-actions' }, submit, cancel),
    );
    this.element = h('section', { class: 'card editor', id, 'aria-labelledby': `${id}-heading` }, this.heading, this.form);
    const image = this.form.elements.image;
    const showPreview = () => this.preview.replaceChildren(imagePreview(image.value, { alt: E.previewAlt }));
    let typing = null; // the preview waits for a pause in the typing: no request per keystroke
    image.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(showPreview, PREVIEW_DELAY_MS);
    });
    showPreview();
    this.form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        onDone(null);
      }
    });
    this.form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(this.form, this.formError);
      const body = {};
      for (const spec of specs) {
        const value = this.form.elements[spec.name].value.trim();
        if (spec.type === 'number') body[spec.name] = value === '' ? 0 : Number(value);
        else body[spec.name] = value;
      }
      submit.disabled = true;
      try {
        onDone(await save(body));
      } catch (error) {
        showErrors(this.form, this.formError, error, explain);
      } finally {
        submit.disabled = false;
      }
    });
  }

  focus() {
    this.form.querySelector('input, textarea')?.focus();
  }
}
