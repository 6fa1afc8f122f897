// A catalogue's plural forms, chosen by Intl.PluralRules for its language:
// plural('ru')(5, { one: 'товар', few: 'товара', many: 'товаров', other: 'товара' }) → 'товаров'.

export function plural(lang) {
  const rules = new Intl.PluralRules(lang);
  return (n, forms) => forms[rules.select(n)] ?? forms.other;
}
