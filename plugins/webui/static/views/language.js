// The language switch: a select of the languages there are, each named in itself. The choice is
// kept in localStorage and the page loads again in it.

import { h } from '../dom.js';
import { LANGUAGES, T, lang, languageName, setLanguage } from '../i18n.js';

let count = 0;

export function languageSwitch(className = '') {
  count += 1;
  const id = `language-${count}`;
  const select = h(
    'select',
    { id, class: 'language-select', name: 'language' },
    LANGUAGES.map((code) => h('option', { value: code, lang: code, selected: code === lang, text: languageName(code) })),
  );
  select.addEventListener('change', () => setLanguage(select.value));
  return h('div', { class: `language-switch ${className}`.trim() }, h('label', { for: id, class: 'visually-hidden', text: T.language.label }), select);
}
