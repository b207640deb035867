// The users page, for admins only: list the people who sign in, add one,
// change a role, reset a password, delete. The server refuses all of it to
// anyone else (403); the builder does not even show the link to them.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import * as api from './api';
import { useI18n, type Key } from './i18n';

interface Props {
  me: api.User;
  onBack: () => void;
}

/**
 * errorText turns an API failure into a line for the page: the refusals a
 * person can cause in their language, anything else as the server says it.
 */
function errorText(e: unknown, t: (k: Key) => string): string {
  if (e instanceof api.ApiError) {
    if (e.status === 409 && e.message.includes('login')) return t('loginTaken');
    if (e.status === 409 && e.message.includes('last admin')) return t('lastAdmin');
    if (e.status === 400 && e.message.includes('password')) return t('passwordRule');
    if (e.status === 400 && e.message.includes('login')) return t('loginRule');
  }
  return e instanceof Error ? e.message : String(e);
}

export function Users({ me, onBack }: Props) {
  const { t, tr, lang } = useI18n();
  const [users, setUsers] = useState<api.UserInfo[]>([]);
  // The failure itself, put into words at render: switching the language
  // translates a refusal already on the page.
  const [failure, setFailure] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const [form, setForm] = useState({ login: '', name: '', role: 'marketer' as api.Role, password: '', queues: '', capacity: '' });
  const [resetFor, setResetFor] = useState<string | null>(null);
  const [newPassword, setNewPassword] = useState('');

  const reload = useCallback(() => {
    api.listUsers().then(
      (us) => setUsers([...us].sort((a, b) => a.login.localeCompare(b.login))),
      (e: unknown) => setFailure(e),
    );
  }, []);
  useEffect(reload, [reload]);

  const run = async (what: () => Promise<unknown>, done: string) => {
    setFailure(null);
    setNotice('');
    try {
      await what();
      setNotice(done);
      reload();
      return true;
    } catch (e) {
      setFailure(e);
      return false;
    }
  };

  const add = async (e: FormEvent) => {
    e.preventDefault();
    const { queues, capacity, ...rest } = form;
    const ok = await run(
      () => api.createUser({ ...rest, name: form.name || undefined, queues: splitQueues(queues), capacity: capacity ? Number(capacity) : undefined }),
      `${t('userAdded')}: ${form.login}`,
    );
    if (ok) setForm({ login: '', name: '', role: form.role, password: '', queues: '', capacity: '' });
  };

  return (
    <div className="users-page" data-testid="users-page">
      <header className="topbar">
        <button onClick={onBack} data-action="back">
          ← {t('backToBuilder')}
        </button>
        <b>{t('users')}</b>
      </header>
      <div className="users-body">
        {failure != null && (
          <div className="err" data-testid="users-error">
            {errorText(failure, t)}
          </div>
        )}
        {notice && (
          <div className="ok" data-testid="users-notice">
            {notice}
          </div>
        )}
        <table className="users-table" data-testid="users-table">
          <thead>
            <tr>
              <th>{t('login')}</th>
              <th>{t('fullName')}</th>
              <th>{t('role')}</th>
              <th>{t('inboxQueues')}</th>
              <th>{t('inboxCapacity')}</th>
              <th>{t('created')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} data-login={u.login}>
                <td>
                  <b>{u.login}</b> {u.id === me.id && <span className="muted">({t('you')})</span>}
                </td>
                <td>{u.name ?? ''}</td>
                <td>
                  <select
                    value={u.role}
                    data-field="role"
                    onChange={(e) => {
                      const role = e.target.value as api.Role;
                      void run(() => api.updateUser(u.id, { role }), `${u.login}: ${tr('role_' + role)}`);
                    }}
                  >
                    {api.roles.map((r) => (
                      <option key={r} value={r}>
                        {tr('role_' + r)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <SavedInput
                    value={(u.queues ?? []).join(', ')}
                    placeholder={t('inboxQueuesHint')}
                    field="queues"
                    onSave={(v) => void run(() => api.updateUser(u.id, { queues: splitQueues(v) }), `${u.login}: ${t('inboxQueues')}`)}
                  />
                </td>
                <td>
                  <SavedInput
                    value={String(u.capacity ?? 10)}
                    type="number"
                    field="capacity"
                    onSave={(v) => void run(() => api.updateUser(u.id, { capacity: Number(v) }), `${u.login}: ${t('inboxCapacity')} ${v}`)}
                  />
                </td>
                <td className="muted">{u.created_at ? new Date(u.created_at).toLocaleDateString(lang) : ''}</td>
                <td className="row-actions">
                  {resetFor === u.id ? (
                    <form
                      className="inline"
                      onSubmit={async (e) => {
                        e.preventDefault();
                        if (await run(() => api.updateUser(u.id, { password: newPassword }), `${u.login}: ${t('passwordChanged')}`)) {
                          setResetFor(null);
                          setNewPassword('');
                        }
                      }}
                    >
                      <input
                        type="password"
                        autoComplete="new-password"
                        placeholder={t('newPassword')}
                        value={newPassword}
                        onChange={(e) => setNewPassword(e.target.value)}
                        data-field="new-password"
                        autoFocus
                      />
                      <button className="primary" type="submit" data-action="save-password">
                        {t('save')}
                      </button>
                      <button type="button" onClick={() => setResetFor(null)}>
                        ✕
                      </button>
                    </form>
                  ) : (
                    <button
                      onClick={() => {
                        setResetFor(u.id);
                        setNewPassword('');
                      }}
                      data-action="reset-password"
                    >
                      {t('resetPassword')}
                    </button>
                  )}
                  <button
                    className="danger"
                    disabled={u.id === me.id}
                    title={u.id === me.id ? t('cannotDeleteSelf') : ''}
                    data-action="delete-user"
                    onClick={() => {
                      if (window.confirm(`${t('deleteUserConfirm')} ${u.login}?`)) {
                        void run(() => api.deleteUser(u.id), `${t('userDeleted')}: ${u.login}`);
                      }
                    }}
                  >
                    {t('delete')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form className="user-add" onSubmit={add} data-testid="user-add">
          <h3>{t('addUser')}</h3>
          <label>
            {t('login')}
            <input value={form.login} onChange={(e) => setForm({ ...form, login: e.target.value })} data-field="new-login" required />
          </label>
          <label>
            {t('fullName')}
            <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} data-field="new-name" />
          </label>
          <label>
            {t('role')}
            <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as api.Role })} data-field="new-role">
              {api.roles.map((r) => (
                <option key={r} value={r}>
                  {tr('role_' + r)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('inboxQueues')}
            <input value={form.queues} placeholder={t('inboxQueuesHint')} onChange={(e) => setForm({ ...form, queues: e.target.value })} data-field="new-queues" />
          </label>
          <label>
            {t('inboxCapacity')}
            <input type="number" min={0} max={1000} value={form.capacity} placeholder="10" onChange={(e) => setForm({ ...form, capacity: e.target.value })} data-field="new-capacity" />
          </label>
          <label>
            {t('password')}
            <input
              type="password"
              autoComplete="new-password"
              value={form.password}
              minLength={8}
              onChange={(e) => setForm({ ...form, password: e.target.value })}
              data-field="new-password-add"
              required
            />
          </label>
          <div className="muted small">{t('passwordRule')}</div>
          <button className="primary" type="submit" data-action="add-user">
            {t('add')}
          </button>
        </form>
        <div className="muted small roles-help">
          <div>
            <b>{tr('role_admin')}</b> — {t('roleHelpAdmin')}
          </div>
          <div>
            <b>{tr('role_marketer')}</b> — {t('roleHelpMarketer')}
          </div>
          <div>
            <b>{tr('role_operator')}</b> — {t('roleHelpOperator')}
          </div>
        </div>
      </div>
    </div>
  );
}

/** splitQueues reads "sales, support" as a list of queue names. */
export function splitQueues(s: string): string[] {
  return [...new Set(s.split(/[,\s]+/).map((q) => q.trim()).filter(Boolean))];
}

/** SavedInput is an input that saves its value on Enter or leaving it, when changed. */
function SavedInput({ value, onSave, field, type = 'text', placeholder }: { value: string; onSave: (v: string) => void; field: string; type?: string; placeholder?: string }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  const save = () => {
    if (v !== value) onSave(v);
  };
  return (
    <input
      className={`user-${field}`}
      type={type}
      min={type === 'number' ? 0 : undefined}
      value={v}
      placeholder={placeholder}
      data-field={field}
      onChange={(e) => setV(e.target.value)}
      onBlur={save}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          save();
        }
      }}
    />
  );
}
