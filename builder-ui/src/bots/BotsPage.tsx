// The "Bots and channels" page: the bots of the store, one of them open with
// its funnel, settings, channels and the Share panel. Everything here is a
// call to the API; the server applies it on every replica without a restart.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import * as core from '../api';
import { useI18n, type Key } from '../i18n';
import * as api from './api';
import { badInterval, rowsOf, hoursOf, weekdays, type DayRow } from './week';
import { SharePanel } from './Share';
import { conflictKey, signsOperators, switches, withOperatorNames } from './channelSettings';
import { MessengerConnect } from '../messengers/MessengerConnect';
import { MessengerDetails } from '../messengers/CallbackURL';
import { callbackURL, isMessenger } from '../messengers/messengers';
import './bots.css';

const idRule = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** failureText says an API failure in the page's language where a person caused it. */
function failureText(e: unknown, t: (k: Key) => string): string {
  if (e instanceof core.ApiError) {
    if (e.status === 409) return t(conflictKey(e.message));
    if (e.status === 422 && e.message.includes('refused')) return t('tokenRefused');
    if (e.status === 502) return t('platformUnreachable');
  }
  return e instanceof Error ? e.message : String(e);
}

export function BotsPage() {
  const { t } = useI18n();
  const { bot: selected } = useParams();
  const navigate = useNavigate();
  const [bots, setBots] = useState<api.Bot[] | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const [form, setForm] = useState({ id: '', name: '' });

  const reload = useCallback(() => {
    api.listBots().then(setBots, setFailure);
  }, []);
  useEffect(reload, [reload]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    setNotice('');
    if (!idRule.test(form.id)) {
      setFailure(new Error(t('botIdRule')));
      return;
    }
    try {
      const b = await api.createBot(form.id, form.name.trim() || form.id);
      setNotice(`${t('botCreated')}: ${b.name}`);
      setForm({ id: '', name: '' });
      reload();
      navigate(`/bots/${encodeURIComponent(b.id)}`);
    } catch (err) {
      setFailure(err);
    }
  };

  const bot = bots?.find((b) => b.id === selected);
  return (
    <div className="bots-page" data-testid="bots-page">
      <aside className="bots-list">
        <h2>{t('botsTitle')}</h2>
        {bots && bots.length === 0 && <p className="muted">{t('botsEmpty')}</p>}
        <ul>
          {(bots ?? []).map((b) => (
            <li key={b.id}>
              <button
                className={b.id === selected ? 'on' : ''}
                data-bot={b.id}
                onClick={() => navigate(`/bots/${encodeURIComponent(b.id)}`)}
              >
                <b>{b.name}</b> <span className="muted">{b.id}</span>
                {b.config_as_code && (
                  <span className="tag" title={t('botFromConfigHint')}>
                    {t('botFromConfig')}
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
        <form onSubmit={(e) => void create(e)} className="bot-new" data-testid="bot-new">
          <h3>{t('botNew')}</h3>
          <label>
            {t('botId')}
            <input value={form.id} onChange={(e) => setForm({ ...form, id: e.target.value })} data-field="bot-id" placeholder="shop" />
            <small className="muted">{t('botIdHint')}</small>
          </label>
          <label>
            {t('botName')}
            <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} data-field="bot-name" />
          </label>
          <button className="primary" type="submit" data-action="create-bot">
            {t('botCreate')}
          </button>
        </form>
      </aside>
      <main className="bot-detail">
        {failure != null && (
          <div className="err" data-testid="bots-error" onClick={() => setFailure(null)}>
            {failureText(failure, t)}
          </div>
        )}
        {notice && (
          <div className="notice" data-testid="bots-notice" onClick={() => setNotice('')}>
            {notice}
          </div>
        )}
        {bot ? (
          <BotDetail
            key={bot.id}
            bot={bot}
            onChanged={(msg) => {
              setNotice(msg);
              setFailure(null);
              reload();
            }}
            onDeleted={() => {
              setNotice(t('botDeleted'));
              reload();
              navigate('/bots');
            }}
            onFailure={setFailure}
          />
        ) : (
          bots && bots.length > 0 && <p className="muted">{t('botPick')}</p>
        )}
      </main>
    </div>
  );
}

interface DetailProps {
  bot: api.Bot;
  onChanged: (notice: string) => void;
  onDeleted: () => void;
  onFailure: (e: unknown) => void;
}

function BotDetail({ bot, onChanged, onDeleted, onFailure }: DetailProps) {
  const { t } = useI18n();
  const [name, setName] = useState(bot.name);
  const [flows, setFlows] = useState<core.FlowInfo[]>([]);
  useEffect(() => {
    core.listFlows(bot.id).then(setFlows, onFailure);
  }, [bot.id, onFailure]);

  const run = async (what: () => Promise<unknown>, done: string) => {
    try {
      await what();
      onChanged(done);
    } catch (e) {
      onFailure(e);
    }
  };

  const del = async () => {
    if (!window.confirm(t('botDeleteConfirm'))) return;
    try {
      await api.deleteBot(bot.id);
      onDeleted();
    } catch (e) {
      onFailure(e);
    }
  };

  const published = flows.filter((f) => f.latest_version);
  return (
    <div className="bot" data-testid="bot-detail" data-bot={bot.id}>
      <header className="bot-head">
        <input value={name} onChange={(e) => setName(e.target.value)} data-field="bot-rename" aria-label={t('botName')} />
        <button onClick={() => void run(() => api.updateBot(bot.id, { name }), t('botSaved'))} disabled={!name.trim() || name === bot.name} data-action="rename-bot">
          {t('botRename')}
        </button>
        <span className="muted">{bot.id}</span>
        {bot.config_as_code && (
          <span className="tag" title={t('botFromConfigHint')} data-testid="config-as-code">
            {t('botFromConfig')}
          </span>
        )}
        <span className="spacer" />
        <button className="danger" onClick={() => void del()} data-action="delete-bot">
          {t('botDelete')}
        </button>
      </header>

      <section>
        <h3>{t('entryFlow')}</h3>
        <select
          value={bot.flow_id ?? ''}
          data-field="entry-flow"
          onChange={(e) => void run(() => api.updateBot(bot.id, { flow_id: e.target.value }), t('madeBotFlow'))}
        >
          <option value="">{t('entryFlowNone')}</option>
          {published.map((f) => (
            <option key={f.id} value={f.id}>
              {f.name ? `${f.name} (${f.id})` : f.id} · v{f.latest_version}
            </option>
          ))}
        </select>{' '}
        {bot.flow_id && <a href={`#/flows/${encodeURIComponent(bot.id)}/${encodeURIComponent(bot.flow_id)}`}>{t('openInBuilder')}</a>}
        <p className="muted small">{published.length === 0 ? t('entryFlowUnpublished') : t('entryFlowHint')}</p>
      </section>

      <SettingsForm bot={bot} onSaved={() => onChanged(t('botSaved'))} onFailure={onFailure} />
      <ChannelsSection bot={bot} onFailure={onFailure} onChanged={onChanged} />
    </div>
  );
}

function SettingsForm({ bot, onSaved, onFailure }: { bot: api.Bot; onSaved: () => void; onFailure: (e: unknown) => void }) {
  const { t } = useI18n();
  const s = bot.settings ?? {};
  const [tz, setTz] = useState(s.time_zone ?? '');
  const [quiet, setQuiet] = useState(!!s.quiet_hours);
  const [quietIv, setQuietIv] = useState(s.quiet_hours ?? { start: '21:00', end: '09:00' });
  const [hoursOn, setHoursOn] = useState(!!s.working_hours);
  const [rows, setRows] = useState<DayRow[]>(s.working_hours ? rowsOf(s.working_hours) : weekdays());
  const [env, setEnv] = useState((s.allowed_env ?? []).join(', '));

  const setRow = (i: number, r: Partial<DayRow>) => setRows(rows.map((x, j) => (j === i ? { ...x, ...r } : x)));
  const bad = (hoursOn && rows.some((r) => r.open && badInterval(r))) || (quiet && badInterval(quietIv) !== '');

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const clear: ('quiet_hours' | 'working_hours')[] = [];
    const settings: api.BotChange['settings'] = {
      time_zone: tz.trim(),
      allowed_env: env
        .split(/[,\s]+/)
        .map((x) => x.trim())
        .filter(Boolean),
    };
    if (quiet) settings.quiet_hours = quietIv;
    else clear.push('quiet_hours');
    if (hoursOn) settings.working_hours = hoursOf(rows);
    else clear.push('working_hours');
    settings.clear = clear;
    try {
      // Sent with the revision the form shows: a change someone saved
      // meanwhile is not overwritten (409, the page says to reload).
      await api.updateBot(bot.id, { settings, rev: bot.rev });
      onSaved();
    } catch (err) {
      onFailure(err);
    }
  };

  return (
    <form className="bot-settings" onSubmit={(e) => void save(e)} data-testid="bot-settings">
      <h3>{t('botSettings')}</h3>
      <label>
        {t('timeZone')}{' '}
        <input value={tz} onChange={(e) => setTz(e.target.value)} list="tz-list" placeholder="Europe/Moscow" data-field="time-zone" />
        <datalist id="tz-list">
          {['Europe/Moscow', 'Europe/Kaliningrad', 'Europe/Samara', 'Asia/Yekaterinburg', 'Asia/Novosibirsk', 'Asia/Vladivostok', 'Europe/Minsk', 'Asia/Almaty', 'UTC'].map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </label>
      <div>
        <label>
          <input type="checkbox" checked={quiet} onChange={(e) => setQuiet(e.target.checked)} data-field="quiet-on" /> {t('quietHours')}
        </label>{' '}
        {quiet && (
          <>
            <input className="time" value={quietIv.start} onChange={(e) => setQuietIv({ ...quietIv, start: e.target.value })} data-field="quiet-start" />
            –
            <input className="time" value={quietIv.end} onChange={(e) => setQuietIv({ ...quietIv, end: e.target.value })} data-field="quiet-end" />
          </>
        )}
      </div>
      <div>
        <label>
          <input type="checkbox" checked={hoursOn} onChange={(e) => setHoursOn(e.target.checked)} data-field="hours-on" /> {t('workingHours')}:{' '}
          {t('workingHoursOn')}
        </label>
        <p className="muted small">{t('workingHoursHint')}</p>
        {hoursOn && (
          <table className="week" data-testid="working-hours">
            <tbody>
              {rows.map((r, i) => {
                const why = r.open ? badInterval(r) : '';
                return (
                  <tr key={r.day} data-day={r.day}>
                    <th>{t(`day_${r.day}` as Key)}</th>
                    <td>
                      <label>
                        <input type="checkbox" checked={r.open} onChange={(e) => setRow(i, { open: e.target.checked })} /> {t('dayOpen')}
                      </label>
                    </td>
                    <td>
                      <input className="time" value={r.start} disabled={!r.open} onChange={(e) => setRow(i, { start: e.target.value })} aria-invalid={why === 'start'} />
                      –
                      <input className="time" value={r.end} disabled={!r.open} onChange={(e) => setRow(i, { end: e.target.value })} aria-invalid={why === 'end'} />
                    </td>
                    <td className="err-text">{why === 'empty' ? t('emptyInterval') : why ? t('badTime') : ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {hoursOn && (
          <button type="button" onClick={() => setRows(weekdays())}>
            {t('weekdays59')}
          </button>
        )}
      </div>
      <label>
        {t('envNames')} <input value={env} onChange={(e) => setEnv(e.target.value)} placeholder={t('envHint')} data-field="env" />
      </label>
      <div>
        <button className="primary" type="submit" disabled={bad} data-action="save-settings">
          {t('saveSettings')}
        </button>
      </div>
    </form>
  );
}

function stateKey(s: api.Channel['state']): Key {
  return s === 'connected' ? 'stateConnected' : s === 'degraded' ? 'stateDegraded' : s === 'failed' ? 'stateFailed' : 'stateConnecting';
}

function modeKey(m?: string): Key | null {
  return m === 'webhook' ? 'modeWebhook' : m === 'polling' ? 'modePolling' : m === 'socket' ? 'modeSocket' : null;
}

/** useBotChannels polls a bot's channels: every 3 s while one is not connected, every 20 s once all are. */
function useBotChannels(bot: string): [api.Channel[] | null, () => void] {
  const [chs, setChs] = useState<api.Channel[] | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      api.listChannels(bot).then(
        (c) => {
          if (!alive) return;
          setChs(c);
          timer = setTimeout(load, c.every((x) => x.state === 'connected') ? 20000 : 3000);
        },
        () => {
          if (alive) timer = setTimeout(load, 3000);
        },
      );
    };
    load();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [bot, tick]);
  return [chs, () => setTick((x) => x + 1)];
}

function ChannelsSection({ bot, onFailure, onChanged }: { bot: api.Bot; onFailure: (e: unknown) => void; onChanged: (n: string) => void }) {
  const { t, tr, lang } = useI18n();
  const [chs, refresh] = useBotChannels(bot.id);
  // A type the page has words for is named in the page's language; a new
  // messenger by the title its adapter gives.
  const title = (c: api.Channel) => {
    const k = `typeTitle_${c.type}`;
    const v = tr(k);
    return v === k ? c.title : v;
  };
  const [types, setTypes] = useState<api.ChannelType[]>([]);
  useEffect(() => {
    api.channelTypes().then(setTypes, () => setTypes([]));
  }, []);
  const fmt = (iso?: string) => (iso ? new Date(iso).toLocaleString(lang === 'ru' ? 'ru-RU' : 'en-GB') : t('never'));

  const remove = async (c: api.Channel) => {
    if (!window.confirm(t('channelRemoveConfirm'))) return;
    try {
      await api.removeChannel(bot.id, c.id);
      onChanged(t('channelRemoved'));
      refresh();
    } catch (err) {
      onFailure(err);
    }
  };
  const setOperatorNames = async (c: api.Channel, on: boolean) => {
    try {
      await api.updateChannel(bot.id, c.id, withOperatorNames(c.settings, on));
      onChanged(on ? t('operatorNamesOn') : t('operatorNamesOff'));
      refresh();
    } catch (err) {
      onFailure(err);
    }
  };
  const addWeb = async () => {
    try {
      await api.addChannel(bot.id, 'web', '');
      refresh();
    } catch (err) {
      onFailure(err);
    }
  };

  const web = chs?.find((c) => c.type === 'web');
  const tg = chs?.find((c) => c.type === 'telegram');
  return (
    <>
      <section className="bot-channels" data-testid="bot-channels">
        <h3>{t('botChannels')}</h3>
        {chs && chs.length === 0 && <p className="muted">{t('channelsNone')}</p>}
        {(chs ?? []).map((c) => {
          const mode = modeKey(c.mode);
          const lastError = c.platform?.last_error || c.last_error;
          return (
            <div key={c.id} className={`channel-card ${c.state}`} data-channel={c.type} data-state={c.state}>
              <div className="channel-line">
                <b>{title(c)}</b>
                {c.account && (c.link ? <a href={c.link} target="_blank" rel="noreferrer" data-testid="channel-account">{c.account}</a> : <span>{c.account}</span>)}
                <span className={`state ${c.state}`} data-testid="channel-state">
                  {t(stateKey(c.state))}
                </span>
                {mode && <span className="muted">{t(mode)}</span>}
                <span className="spacer" />
                <button onClick={() => void remove(c)} data-action="remove-channel">
                  {t('channelRemove')}
                </button>
              </div>
              <div className="muted small">
                {c.token && (
                  <>
                    {t('token')}: <code>{c.token}</code> ·{' '}
                  </>
                )}
                {t('lastUpdate')}: <span data-testid="channel-last-update">{fmt(c.last_update)}</span>
                {c.platform && c.platform.pending > 0 && (
                  <>
                    {' '}
                    · {t('pending')}: {c.platform.pending}
                  </>
                )}
              </div>
              {c.type === 'telegram' && (
                <label className="small" data-testid="operator-names">
                  <input
                    type="checkbox"
                    checked={signsOperators(c.settings)}
                    onChange={(e) => void setOperatorNames(c, e.target.checked)}
                    data-field="operator-names"
                  />{' '}
                  {t('operatorNames')}
                </label>
              )}
              {isMessenger(c.type) && c.type !== 'viber' && (
                <MessengerDetails url={callbackURL(window.location.origin, c.type, bot.id)} verifyToken={c.settings?.verify_token} />
              )}
              {lastError && (
                <div className="err-text small" data-testid="channel-error">
                  {t('lastError')}: {lastError}
                </div>
              )}
            </div>
          );
        })}
        {chs &&
          types
            .filter((ty) => ty.needs_token && !isMessenger(ty.name) && !chs.some((c) => c.type === ty.name))
            .map((ty) => (
              <ConnectForm
                key={ty.name}
                bot={bot.id}
                type={ty}
                onConnected={(c) => {
                  onChanged(`${t('connected')}: ${c.account ?? c.title}`);
                  refresh();
                }}
                onFailure={onFailure}
              />
            ))}
        {chs && (
          <MessengerConnect
            bot={bot.id}
            origin={window.location.origin}
            connected={chs.map((c) => c.type)}
            describe={(e) => (e instanceof Error ? e.message + (e instanceof core.ApiError && e.details ? `: ${String(e.details)}` : '') : String(e))}
            onConnect={async (body) => {
              const c = await api.connectChannel(bot.id, body);
              onChanged(`${t('connected')}: ${c.account ?? c.title}`);
              refresh();
            }}
          />
        )}
        {chs && !web && (
          <button onClick={() => void addWeb()} data-action="add-web">
            {t('addWebChat')}
          </button>
        )}
      </section>
      {web && <SharePanel bot={bot.id} web={web} telegram={tg} onFailure={onFailure} onSaved={() => { onChanged(t('botSaved')); refresh(); }} />}
    </>
  );
}

/**
 * ConnectForm connects a channel type that needs a token: Telegram's is
 * the token alone; another messenger's settings (its adapter names them)
 * get a field each. The server checks the token with the platform first.
 */
function ConnectForm({ bot, type, onConnected, onFailure }: { bot: string; type: api.ChannelType; onConnected: (c: api.Channel) => void; onFailure: (e: unknown) => void }) {
  const { t, tr } = useI18n();
  const [token, setToken] = useState('');
  const [settings, setSettings] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const named = tr(`typeTitle_${type.name}`);
  const title = named === `typeTitle_${type.name}` ? type.title : named;
  const connect = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const filled = Object.fromEntries(Object.entries(settings).filter(([, v]) => v.trim() !== ''));
      const c = await api.addChannel(bot, type.name, token.trim(), Object.keys(filled).length ? filled : undefined);
      setToken('');
      setSettings({});
      onConnected(c);
    } catch (err) {
      onFailure(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="connect" onSubmit={(e) => void connect(e)} data-testid={`connect-${type.name}`}>
      <b>
        {t('connect')} {title}
      </b>{' '}
      <input
        value={token}
        onChange={(e) => setToken(e.target.value)}
        placeholder={type.name === 'telegram' ? t('telegramToken') : t('token')}
        autoComplete="off"
        spellCheck={false}
        data-field={`${type.name}-token`}
      />{' '}
      {(type.settings ?? []).filter((k) => !switches.has(k)).map((k) => (
        <input
          key={k}
          value={settings[k] ?? ''}
          onChange={(e) => setSettings({ ...settings, [k]: e.target.value })}
          placeholder={k}
          data-field={`${type.name}-${k}`}
        />
      ))}{' '}
      <button className="primary" type="submit" disabled={busy || !token.trim()} data-action={`connect-${type.name}`}>
        {busy ? t('connecting') : t('connect')}
      </button>
    </form>
  );
}
