import { describe, expect, it } from 'vitest';
import { dictionaries } from './i18n';
import { homeFor, pages, pagesFor } from './routes';

describe('pages', () => {
  it('sends each role to a page it may open', () => {
    expect(homeFor('admin')).toBe('/flows');
    expect(homeFor('marketer')).toBe('/flows');
    for (const role of ['admin', 'marketer', 'operator'] as const) {
      const home = homeFor(role);
      if (home) expect(pagesFor(role).some((p) => (p.navPath ?? p.path) === home)).toBe(true);
    }
  });

  it('shows the users page to admins only', () => {
    expect(pagesFor('admin').map((p) => p.path)).toContain('/users');
    expect(pagesFor('marketer').map((p) => p.path)).not.toContain('/users');
    expect(pagesFor('operator').map((p) => p.path)).not.toContain('/users');
  });

  it('labels every navigation entry in both languages', () => {
    for (const p of pages.filter((x) => x.nav)) {
      expect(dictionaries.ru[p.nav!]).toBeTruthy();
      expect(dictionaries.en[p.nav!]).toBeTruthy();
      expect(dictionaries.ru[p.nav!]).not.toBe(dictionaries.en[p.nav!]);
    }
  });
});
