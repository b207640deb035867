// The "new funnel" dialog: a name in any language (the id is derived from
// it, Russian transliterated), and a template to start from.
import { useState, type FormEvent } from 'react';
import { useI18n } from './i18n';
import { flowIdFrom, uniqueId } from './model';
import { templateIds, type TemplateId } from './templates';
import { Icon } from './icons';

interface Props {
  taken: string[];
  onCreate: (id: string, name: string, tpl: TemplateId) => void;
  onClose: () => void;
}

export function NewFlowDialog({ taken, onCreate, onClose }: Props) {
  const { t, tr } = useI18n();
  const [name, setName] = useState('');
  const [tpl, setTpl] = useState<TemplateId>('empty');
  const base = flowIdFrom(name || tr('tpl_' + tpl));
  const id = uniqueId(base, (x) => taken.includes(x));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onCreate(id, name.trim() || tr('tpl_' + tpl), tpl);
  };
  return (
    <div className="modal" data-testid="new-flow" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <form className="modal-box new-flow" onSubmit={submit}>
        <h3>{t('newFlowTitle')}</h3>
        <label className="field">
          <span>{t('newFlowName')}</span>
          <input autoFocus value={name} placeholder={t('newFlowNamePlaceholder')} data-field="new-flow-name" onChange={(e) => setName(e.target.value)} />
        </label>
        <div className="muted small" data-testid="new-flow-id">
          {t('newFlowId')}: <code>{id}</code>
          {id !== base ? ` — ${t('newFlowExists')}` : ''}
        </div>
        <fieldset className="templates">
          <legend>{t('newFlowTemplate')}</legend>
          {templateIds.map((x) => (
            <label key={x} className={`template${tpl === x ? ' on' : ''}`}>
              <input type="radio" name="tpl" value={x} checked={tpl === x} onChange={() => setTpl(x)} data-template={x} />
              <b>{tr('tpl_' + x)}</b>
              <span className="muted small">{tr('tplDesc_' + x)}</span>
            </label>
          ))}
        </fieldset>
        <div className="row">
          <button type="submit" className="primary" data-action="create-flow">
            <Icon name="plus" size={14} /> {t('create')}
          </button>
          <button type="button" onClick={onClose}>
            {t('cancel')}
          </button>
        </div>
      </form>
    </div>
  );
}
