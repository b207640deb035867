// A webhook URL (or a token) to paste into a platform's console, with a
// copy button.
import { useState } from 'react';
import { useI18n } from '../i18n';

export function CallbackURL({ url, label }: { url: string; label?: string }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  const copy = () => {
    void navigator.clipboard?.writeText(url).then(() => setCopied(true), () => setCopied(false));
  };
  return (
    <div className="callback-url small">
      <span>{label ?? t('msgrCallback')}: </span>
      <code data-testid="callback-url">{url}</code>{' '}
      <button type="button" onClick={copy}>{copied ? t('msgrCopied') : t('msgrCopy')}</button>
    </div>
  );
}

/** MessengerDetails shows, on a connected channel's card, what its platform's console needs. */
export function MessengerDetails({ url, verifyToken }: { url: string; verifyToken?: string }) {
  const { t } = useI18n();
  return (
    <div className="messenger-details" data-testid="messenger-details">
      <CallbackURL url={url} />
      {verifyToken && <CallbackURL url={verifyToken} label={t('msgrField_verify_token')} />}
    </div>
  );
}
