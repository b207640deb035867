// The Share panel: the web chat's look (with a live preview), the embed
// snippet, the hosted page, and links that carry a source for analytics.
import { useEffect, useState } from 'react';
import { useI18n } from '../i18n';
import * as api from './api';
import { deepLink, embedSnippet, hostedLink, payloadRule, previewURL, type WebLook } from './share';

interface Props {
  bot: string;
  web: api.Channel;
  telegram?: api.Channel;
  onSaved: () => void;
  onFailure: (e: unknown) => void;
}

export function SharePanel({ bot, web, telegram, onSaved, onFailure }: Props) {
  const { t } = useI18n();
  const s = web.settings ?? {};
  const [look, setLook] = useState<WebLook>({ title: s.title ?? '', color: s.color ?? '#2f6fed', greeting: s.greeting ?? '', position: s.position ?? 'right' });
  const [source, setSource] = useState('');
  const [copied, setCopied] = useState('');
  const origin = window.location.origin;
  // The preview reloads a moment after typing stops, not at every key.
  const [shown, setShown] = useState(look);
  useEffect(() => {
    const id = setTimeout(() => setShown(look), 500);
    return () => clearTimeout(id);
  }, [look]);

  const save = async () => {
    const settings: Record<string, string> = {};
    for (const k of ['title', 'color', 'greeting', 'position'] as const) {
      const v = look[k];
      if (v) settings[k] = v;
    }
    try {
      await api.updateChannel(bot, web.id, settings);
      onSaved();
    } catch (e) {
      onFailure(e);
    }
  };
  const copy = (what: string, text: string) => {
    void navigator.clipboard?.writeText(text).then(() => setCopied(what));
  };

  const snippet = embedSnippet(origin, bot, look, source || undefined);
  const page = hostedLink(origin, bot, source || undefined);
  const tgLink = telegram?.deep_link && source && payloadRule.test(source) ? deepLink(telegram.deep_link, source) : telegram?.link;
  return (
    <section className="share" data-testid="share-panel">
      <h3>{t('share')}</h3>
      <p className="muted small">{t('shareHint')}</p>
      <div className="share-grid">
        <div className="share-form">
          <label>
            {t('webTitle')} <input value={look.title} onChange={(e) => setLook({ ...look, title: e.target.value })} data-field="web-title" />
          </label>
          <label>
            {t('webColor')} <input type="color" value={look.color} onChange={(e) => setLook({ ...look, color: e.target.value })} data-field="web-color" />
          </label>
          <label>
            {t('webGreeting')}
            <textarea rows={2} value={look.greeting} onChange={(e) => setLook({ ...look, greeting: e.target.value })} data-field="web-greeting" />
          </label>
          <label>
            {t('webPosition')}{' '}
            <select value={look.position} onChange={(e) => setLook({ ...look, position: e.target.value })} data-field="web-position">
              <option value="right">{t('posRight')}</option>
              <option value="left">{t('posLeft')}</option>
            </select>
          </label>
          <button className="primary" onClick={() => void save()} data-action="save-look">
            {t('saveLook')}
          </button>
          <label>
            {t('sourceLabel')}{' '}
            <input value={source} onChange={(e) => setSource(e.target.value.trim())} placeholder="instagram_bio" data-field="share-source" />
            {source && !payloadRule.test(source) && <small className="err-text">{t('sourceRule')}</small>}
          </label>
          <label>
            {t('embedCode')}
            <textarea readOnly rows={4} value={snippet} data-testid="embed-snippet" onFocus={(e) => e.currentTarget.select()} />
          </label>
          <button onClick={() => copy('snippet', snippet)}>{copied === 'snippet' ? t('copied') : t('copy')}</button>
          <div>
            {t('hostedPage')}:{' '}
            <a href={page} target="_blank" rel="noreferrer" data-testid="hosted-link">
              {page}
            </a>
          </div>
          {tgLink && (
            <div>
              {t('deepLinkTelegram')}:{' '}
              <a href={tgLink} target="_blank" rel="noreferrer" data-testid="telegram-link">
                {tgLink}
              </a>
            </div>
          )}
        </div>
        <div className="share-preview">
          <div className="muted small">{t('livePreview')}</div>
          <iframe title={t('livePreview')} src={previewURL(bot, shown)} data-testid="share-preview" />
        </div>
      </div>
    </section>
  );
}
