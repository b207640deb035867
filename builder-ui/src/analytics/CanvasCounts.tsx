// The analytics overlay of a canvas node: how many runs entered it and what
// share of the runs started that is.
import { useI18n } from '../i18n';

export function NodeCount({ count }: { count: { entered: number; percent: number | null } }) {
  const { t } = useI18n();
  const p = count.percent === null ? '' : ` · ${count.percent.toFixed(count.percent < 10 ? 1 : 0)}%`;
  return (
    <div className="fnode-count" data-testid="node-count" title={t('anEnteredHint')}>
      {count.entered.toLocaleString('ru-RU')}
      {p}
    </div>
  );
}
