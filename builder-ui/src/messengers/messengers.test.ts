import { describe, expect, it } from 'vitest';
import { callbackURL, channelBody, initialValues, isMessenger, missing, randomToken } from './messengers';
import { en, ru } from './strings';

describe('messenger forms', () => {
  it('puts WhatsApp fields where the API wants them', () => {
    const body = channelBody('whatsapp', {
      phone_number_id: ' 1000001 ', token: 'EAAG', app_secret: 's3', verify_token: 'vt', api_url: '',
    });
    expect(body).toEqual({ type: 'whatsapp', token: 'EAAG', secret: 's3', settings: { phone_number_id: '1000001', verify_token: 'vt' } });
  });

  it('sends VK group and confirmation as settings, the callback key as the secret', () => {
    const body = channelBody('vk', { group_id: '229000001', token: 'vk1', secret: 'k', confirmation: 'abc', api_url: 'http://127.0.0.1:9/method' });
    expect(body).toEqual({ type: 'vk', token: 'vk1', secret: 'k', api_url: 'http://127.0.0.1:9/method', settings: { group_id: '229000001', confirmation: 'abc' } });
  });

  it('lists what is missing in form order', () => {
    expect(missing('whatsapp', { token: 'x' })).toEqual(['phone_number_id', 'app_secret', 'verify_token']);
    expect(missing('viber', { token: 't' })).toEqual([]);
  });

  it('builds the callback URL and fresh tokens', () => {
    expect(callbackURL('https://bots.example.ru/', 'whatsapp', 'shop')).toBe('https://bots.example.ru/whatsapp/shop');
    const a = randomToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(randomToken()).not.toBe(a);
    expect(initialValues('whatsapp').verify_token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(initialValues('vk').secret).toBeTruthy();
    expect(initialValues('viber')).toEqual({});
  });

  it('tells the messengers from other channels', () => {
    expect(isMessenger('vk')).toBe(true);
    expect(isMessenger('telegram')).toBe(false);
  });

  it('has every string in both languages', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(ru).sort());
  });
});
