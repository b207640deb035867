import { describe, expect, it } from 'vitest';
import { homeFor, pagesFor } from '../routes';

describe('inbox pages', () => {
  it('lands an operator on the inbox; admins keep the builder as home', () => {
    expect(homeFor('operator')).toBe('/inbox');
    expect(homeFor('admin')).toBe('/flows');
  });
  it('shows the inbox to operators and admins, never to marketers; canned replies to all three', () => {
    const paths = (r: 'admin' | 'marketer' | 'operator') => pagesFor(r).map((p) => p.navPath ?? p.path);
    expect(paths('operator')).toEqual(['/inbox', '/canned']);
    expect(paths('admin')).toEqual(expect.arrayContaining(['/flows', '/inbox', '/canned', '/users']));
    expect(paths('marketer')).not.toContain('/inbox');
    expect(paths('marketer')).toContain('/canned');
  });
});
