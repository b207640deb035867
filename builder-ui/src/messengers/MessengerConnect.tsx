// The form that connects WhatsApp, Viber or VK to a bot: the platform's
// fields, the webhook URL (and WhatsApp's verify token) to paste into the
// platform's console, and the connect button. The parent does the request.
import { useState, type FormEvent } from 'react';
import { useI18n, type Key } from '../i18n';
import { callbackURL, channelBody, initialValues, messengerFields, messengerTypes, missing, type ChannelBody, type MessengerType } from './messengers';
import { CallbackURL } from './CallbackURL';
import './messengers.css';

export interface MessengerConnectProps {
  bot: string;
  /** origin is the server's public address, as the platform reaches it. */
  origin: string;
  /** connected lists the types the bot has already: they are not offered. */
  connected: readonly string[];
  /** onConnect sends the body to POST /api/bots/{bot}/channels; a rejection is shown. */
  onConnect: (body: ChannelBody) => Promise<void>;
  /** describe turns a failed request into words for the person. */
  describe: (e: unknown) => string;
}

export function MessengerConnect({ bot, origin, connected, onConnect, describe }: MessengerConnectProps) {
  const { t } = useI18n();
  const offered = messengerTypes.filter((m) => !connected.includes(m));
  const [type, setType] = useState<MessengerType | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  if (offered.length === 0) return null;

  const pick = (m: MessengerType) => {
    setType(m);
    setValues(initialValues(m));
    setError('');
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!type) return;
    const gaps = missing(type, values);
    if (gaps.length > 0) {
      setError(t('msgrMissing').replace('{f}', gaps.map((k) => t(`msgrField_${k}` as Key)).join(', ')));
      return;
    }
    setBusy(true);
    setError('');
    try {
      await onConnect(channelBody(type, values));
      setType(null);
      setValues({});
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="messenger-connect" data-testid="messenger-connect">
      <b>{t('msgrConnect')}</b>{' '}
      {offered.map((m) => (
        <button key={m} type="button" className={type === m ? 'primary' : ''} onClick={() => pick(m)} data-action={`pick-${m}`}>
          {t(`msgr_${m}` as Key)}
        </button>
      ))}
      {type && (
        <form onSubmit={(e) => void submit(e)} data-testid={`connect-${type}`}>
          {messengerFields[type].map((f) => (
            <label key={f.key} className="messenger-field">
              <span>{t(`msgrField_${f.key}` as Key)}</span>
              <input
                type={f.secret ? 'password' : 'text'}
                value={values[f.key] ?? ''}
                onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
                data-field={`${type}-${f.key}`}
                autoComplete="off"
                spellCheck={false}
              />
            </label>
          ))}
          <CallbackURL url={callbackURL(origin, type, bot)} />
          <p className="muted small">{t(`msgrHint_${type}` as Key)}</p>
          {error && <div className="err-text small" data-testid="messenger-error">{error}</div>}
          <button className="primary" type="submit" disabled={busy} data-action={`connect-${type}`}>
            {busy ? t('msgrConnecting') : t('msgrConnectButton')}
          </button>
        </form>
      )}
    </div>
  );
}
