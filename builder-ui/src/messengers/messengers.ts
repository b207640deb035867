// What the builder asks to connect WhatsApp, Viber and VK, and how that
// becomes the body of POST /api/bots/{bot}/channels.

export type MessengerType = 'whatsapp' | 'viber' | 'vk';

export const messengerTypes: readonly MessengerType[] = ['whatsapp', 'viber', 'vk'];

/** Field is one input of a messenger's form and where its value goes in the body. */
export interface Field {
  key: string;
  /** to: the channel's token, its secret (sealed at rest), a setting, or the API base. */
  to: 'token' | 'secret' | 'settings' | 'api_url';
  required: boolean;
  /** secret fields are typed as passwords. */
  secret?: boolean;
  /** generated fields get a random value the person may keep (WhatsApp's verify token). */
  generated?: boolean;
}

export const messengerFields: Record<MessengerType, readonly Field[]> = {
  whatsapp: [
    { key: 'phone_number_id', to: 'settings', required: true },
    { key: 'token', to: 'token', required: true, secret: true },
    { key: 'app_secret', to: 'secret', required: true, secret: true },
    { key: 'verify_token', to: 'settings', required: true, generated: true },
    { key: 'api_url', to: 'api_url', required: false },
  ],
  viber: [
    { key: 'token', to: 'token', required: true, secret: true },
    { key: 'welcome', to: 'settings', required: false },
    { key: 'api_url', to: 'api_url', required: false },
  ],
  vk: [
    { key: 'group_id', to: 'settings', required: true },
    { key: 'token', to: 'token', required: true, secret: true },
    { key: 'secret', to: 'secret', required: true, secret: true, generated: true },
    { key: 'confirmation', to: 'settings', required: true },
    { key: 'api_url', to: 'api_url', required: false },
  ],
};

export interface ChannelBody {
  type: MessengerType;
  token: string;
  secret?: string;
  api_url?: string;
  settings: Record<string, string>;
}

/** channelBody puts the form's values where the API wants them; blanks are left out. */
export function channelBody(type: MessengerType, values: Record<string, string>): ChannelBody {
  const body: ChannelBody = { type, token: '', settings: {} };
  for (const f of messengerFields[type]) {
    const v = (values[f.key] ?? '').trim();
    if (!v) continue;
    if (f.to === 'token') body.token = v;
    else if (f.to === 'secret') body.secret = v;
    else if (f.to === 'api_url') body.api_url = v;
    else body.settings[f.key] = v;
  }
  return body;
}

/** missing lists the required fields left blank, in form order. */
export function missing(type: MessengerType, values: Record<string, string>): string[] {
  return messengerFields[type].filter((f) => f.required && !(values[f.key] ?? '').trim()).map((f) => f.key);
}

/** callbackURL is where the platform must send updates: origin + /{type}/{bot}. */
export function callbackURL(origin: string, type: MessengerType, bot: string): string {
  return `${origin.replace(/\/+$/, '')}/${type}/${encodeURIComponent(bot)}`;
}

/** randomToken is a fresh URL-safe random string (for verify tokens and secret keys). */
export function randomToken(bytes = 18): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** initialValues fills the generated fields. */
export function initialValues(type: MessengerType): Record<string, string> {
  const v: Record<string, string> = {};
  for (const f of messengerFields[type]) if (f.generated) v[f.key] = randomToken();
  return v;
}

/** isMessenger tells the three types apart from Telegram and the web chat. */
export function isMessenger(type: string): type is MessengerType {
  return (messengerTypes as readonly string[]).includes(type);
}
