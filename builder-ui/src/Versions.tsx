// Published versions: who and when, what changed against the draft, and
// rollback (publishing an old version again).
import { useEffect, useState } from 'react';
import { getVersion, listVersions, publishDoc, type VersionInfo } from './api';
import { diff, type DiffSummary, type FlowDoc } from './model';
import { useI18n } from './i18n';

interface Props {
  bot: string;
  flow: string;
  draft: FlowDoc;
  refresh: number;
  onRolledBack: (doc: FlowDoc, version: number) => void;
}

export function Versions({ bot, flow, draft, refresh, onRolledBack }: Props) {
  const { t, lang } = useI18n();
  const [versions, setVersions] = useState<VersionInfo[]>([]);
  const [open, setOpen] = useState<number | null>(null);
  const [summary, setSummary] = useState<DiffSummary | null>(null);
  const [old, setOld] = useState<{ json: FlowDoc | null; doc: string } | null>(null);
  const [msg, setMsg] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    listVersions(bot, flow)
      .then((vs) => setVersions([...vs].reverse()))
      .catch(() => setVersions([]));
  }, [bot, flow, refresh]);

  const show = async (v: number) => {
    setOpen(v);
    const got = await getVersion(bot, flow, v);
    setOld(got);
    setSummary(got.json ? diff(got.json, draft) : null);
  };

  const rollback = async (v: number) => {
    if (!old) return;
    setMsg('');
    setError('');
    try {
      const r = await publishDoc(bot, flow, old.doc);
      setMsg(`${t('rollbackDone')}: v${v} → v${r.version}`);
      if (old.json) onRolledBack(old.json, v);
      setVersions(await listVersions(bot, flow).then((vs) => [...vs].reverse()));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <div className="versions" data-testid="versions">
      <h3>{t('versions')}</h3>
      {msg && (
        <div className="ok" data-testid="versions-message">
          {msg}
        </div>
      )}
      {error && <div className="err">{error}</div>}
      {versions.length === 0 && <div className="muted">{t('noVersions')}</div>}
      <ul>
        {versions.map((v) => (
          <li key={v.version} className={open === v.version ? 'open' : ''}>
            <button className="link" onClick={() => show(v.version)} data-version={v.version}>
              v{v.version} · {new Date(v.published_at).toLocaleString(lang === 'ru' ? 'ru-RU' : 'en-GB')} · {v.published_by ?? ''}
            </button>
            {v.note && <div className="muted">{v.note}</div>}
            {open === v.version && summary && (
              <div className="diff" data-testid="diff">
                {summary.added.length + summary.removed.length + summary.changed.length === 0 && !summary.settings && <div>{t('diffNone')}</div>}
                {summary.added.length > 0 && (
                  <div>
                    + {t('diffAdded')}: {summary.added.join(', ')}
                  </div>
                )}
                {summary.removed.length > 0 && (
                  <div>
                    − {t('diffRemoved')}: {summary.removed.join(', ')}
                  </div>
                )}
                {summary.changed.length > 0 && (
                  <div>
                    ~ {t('diffChanged')}: {summary.changed.join(', ')}
                  </div>
                )}
                {summary.settings && <div>~ {t('diffSettings')}</div>}
                <button onClick={() => rollback(v.version)} data-action="rollback">
                  {t('rollback')}
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
