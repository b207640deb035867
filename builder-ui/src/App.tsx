// The builder app: the sign-in page until a session exists, then the shell
// with the pages the user's role may open.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import * as api from './api';
import { SessionContext } from './session';
import { Shell } from './shell/Shell';
import { I18nContext, dictionaries, translate, useI18n, type I18n, type Lang } from './i18n';

function initialLang(): Lang {
  try {
    const l = localStorage.getItem('voronka-lang');
    if (l === 'en' || l === 'ru') return l;
  } catch {
    /* storage unavailable */
  }
  return 'ru';
}

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [user, setUser] = useState<api.User | null | undefined>(undefined);
  const i18n = useMemo<I18n>(
    () => ({
      lang,
      t: (k) => dictionaries[lang][k],
      tr: (k) => translate(lang, k),
      setLang: (l) => {
        setLangState(l);
        try {
          localStorage.setItem('voronka-lang', l);
        } catch {
          /* storage unavailable */
        }
      },
    }),
    [lang],
  );
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = dictionaries[lang].title;
  }, [lang]);
  useEffect(() => {
    api.session().then(setUser, () => setUser(null));
  }, []);

  const signOut = () => {
    api.logout().finally(() => setUser(null));
  };

  return (
    <I18nContext.Provider value={i18n}>
      {user === undefined ? (
        <div className="pad">{dictionaries[lang].loading}</div>
      ) : user === null ? (
        <SignIn onSignedIn={setUser} />
      ) : (
        <SessionContext.Provider value={{ user, signOut }}>
          <Shell fallback={<NotForRole user={user} onSignOut={signOut} />} />
        </SessionContext.Provider>
      )}
    </I18nContext.Provider>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (u: api.User) => void }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const lang = useI18n();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    try {
      onSignedIn(await api.login(login, password));
    } catch (err) {
      const d = dictionaries[lang.lang];
      if (err instanceof api.ApiError && err.status === 429) {
        const secs = (err.details as { retry_after?: number } | undefined)?.retry_after ?? 60;
        const wait = secs >= 60 ? `${Math.ceil(secs / 60)} ${d.minutesShort}` : `${secs} ${d.secondsShort}`;
        setError(d.tooManyAttempts.replace('{t}', wait));
      } else setError(d.wrongLogin);
    }
  };
  const t = dictionaries[lang.lang];
  return (
    <div className="signin">
      <form onSubmit={submit} data-testid="signin">
        <h1>Voronka</h1>
        <label>
          {t.login}
          <input name="login" autoComplete="username" value={login} onChange={(e) => setLogin(e.target.value)} autoFocus />
        </label>
        <label>
          {t.password}
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && (
          <div className="err" data-testid="signin-error">
            {error}
          </div>
        )}
        <button className="primary" type="submit">
          {t.signIn}
        </button>
        <button type="button" className="link" onClick={() => lang.setLang(lang.lang === 'ru' ? 'en' : 'ru')}>
          {t.language}
        </button>
      </form>
    </div>
  );
}

/**
 * NotForRole is what an operator sees here: the builder is for marketers
 * and admins (the API refuses operators its routes), so say so plainly
 * instead of showing a builder that fails on every request.
 */
function NotForRole({ user, onSignOut }: { user: api.User; onSignOut: () => void }) {
  const { t, tr, lang, setLang } = useI18n();
  return (
    <div className="signin">
      <div className="signin-box" data-testid="not-for-role">
        <h1>Voronka</h1>
        <p>
          {user.login} ({tr('role_' + user.role)})
        </p>
        <p>{t('builderNotForRole')}</p>
        <button className="primary" onClick={onSignOut}>
          {t('signOut')}
        </button>
        <button type="button" className="link" onClick={() => setLang(lang === 'ru' ? 'en' : 'ru')}>
          {t('language')}
        </button>
      </div>
    </div>
  );
}
