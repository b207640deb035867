// The analytics page: a bot's figures for a period (GET …/analytics), the
// funnel as a chart and on the flow's canvas, goals, A/B variants with
// p-values, delivery per channel, response times, CSAT, sessions, peak
// hours and sources; every table downloads as CSV.
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import * as app from '../api';
import { Canvas } from '../Canvas';
import { useI18n } from '../i18n';
import { BotPicker, CsvLink, message, usePageBot } from '../lib/pages';
import type { FlowDoc, NodeSpec, Problem } from '../model';
import { csvPath, getReport, type Query, type Report, type Table } from './api';
import { EChart } from './EChart';
import { canvasCounts, defaultPeriod, funnelSteps, heatCells, maxOf, num, pct, pValue } from './logic';

function useFlows(bot: string): app.FlowInfo[] {
  const [flows, setFlows] = useState<app.FlowInfo[]>([]);
  useEffect(() => {
    if (!bot) return;
    app.listFlows(bot).then(setFlows, () => setFlows([]));
  }, [bot]);
  return flows;
}

/** useReport loads the report of q, again whenever q changes. */
function useReport(bot: string, q: Query): { report: Report | null; error: string } {
  const [state, setState] = useState<{ report: Report | null; error: string }>({ report: null, error: '' });
  const key = JSON.stringify([bot, q]);
  useEffect(() => {
    if (!bot) return;
    let live = true;
    getReport(bot, q).then(
      (report) => live && setState({ report, error: '' }),
      (e: unknown) => live && setState({ report: null, error: message(e) }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key stands for bot and q
  }, [key]);
  return state;
}

function Section({ title, csv, children, id }: { title: string; csv?: string; children: ReactNode; id: string }) {
  const { t } = useI18n();
  return (
    <section className="an-section" data-an={id}>
      <h2>
        {title}
        {csv && (
          <CsvLink className="an-csv" href={csv} data={{ 'data-csv': id }}>
            {t('anCSV')}
          </CsvLink>
        )}
      </h2>
      {children}
    </section>
  );
}

function Card({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div className="an-card" data-card={id}>
      <div className="an-card-value">{value}</div>
      <div className="an-card-label">{label}</div>
    </div>
  );
}

export function Analytics() {
  const { t } = useI18n();
  const { bot, bots } = usePageBot();
  const flows = useFlows(bot);
  const [period, setPeriod] = useState(() => defaultPeriod(new Date()));
  const [flow, setFlow] = useState('');
  const [source, setSource] = useState<string | undefined>(undefined);
  const q: Query = useMemo(() => ({ ...period, flow: flow || undefined, source }), [period, flow, source]);
  const { report, error } = useReport(bot, q);
  const csv = (table: Table) => csvPath(bot, q, table);
  const na = t('anNA');
  const sources = Object.keys(report?.by_source ?? {}).sort();
  return (
    <div className="an-page">
      <header className="an-head">
        <BotPicker page="analytics" bot={bot} bots={bots} data={{ 'data-an': 'bot' }} label />
        <label>
          {t('anFlow')}{' '}
          <select value={flow} onChange={(e) => setFlow(e.target.value)} data-an="flow">
            <option value="">{t('anAllFlows')}</option>
            {flows.map((f) => (
              <option key={f.id} value={f.id}>
                {f.name || f.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('anFrom')}{' '}
          <input type="date" value={period.from} onChange={(e) => e.target.value && setPeriod({ ...period, from: e.target.value })} data-an="from" />
        </label>
        <label>
          {t('anTo')}{' '}
          <input type="date" value={period.to} onChange={(e) => e.target.value && setPeriod({ ...period, to: e.target.value })} data-an="to" />
        </label>
        <label>
          {t('anSource')}{' '}
          <select value={source ?? '\u0000'} onChange={(e) => setSource(e.target.value === '\u0000' ? undefined : e.target.value)} data-an="source">
            <option value={'\u0000'}>{t('anAllSources')}</option>
            {sources.map((s) => (
              <option key={s} value={s}>
                {s || t('anNoSource')}
              </option>
            ))}
          </select>
        </label>
      </header>
      {error && (
        <div className="an-error" role="alert">
          {t('anFailed')}: {error}
        </div>
      )}
      {!report && !error && <div className="an-loading">{t('anLoading')}</div>}
      {report && <ReportView bot={bot} flow={flow} report={report} csv={csv} na={na} />}
    </div>
  );
}

function ReportView({ bot, flow, report: r, csv, na }: { bot: string; flow: string; report: Report; csv: (t: Table) => string; na: string }) {
  const { t } = useI18n();
  const rt = r.response_time;
  return (
    <div className="an-body">
      <Section title={t('anStarted')} csv={csv('summary')} id="summary">
        <div className="an-cards">
          <Card id="started" label={t('anStarted')} value={num(r.started, na)} />
          <Card id="dialogs" label={t('anDialogs')} value={num(r.dialogs, na)} />
          <Card id="active_now" label={t('anActiveNow')} value={num(r.active_now, na)} />
          <Card id="in" label={t('anMessagesIn')} value={num(r.messages.in, na)} />
          <Card id="bot" label={t('anMessagesBot')} value={num(r.messages.bot, na)} />
          <Card id="operator" label={t('anMessagesOperator')} value={num(r.messages.operator, na)} />
          <Card id="auto_ratio" label={t('anAutoRatio')} value={pct(r.auto_ratio, na)} />
          <Card id="handoffs" label={t('anHandoffs')} value={num(r.handoffs, na)} />
          <Card id="unsubscribes" label={t('anUnsubscribes')} value={num(r.unsubscribes, na)} />
          <Card id="unsubscribe_rate" label={t('anUnsubRate')} value={pct(r.unsubscribe_rate, na)} />
          <Card id="bot_reply" label={t('anBotReply')} value={`${num(rt.bot_p50_ms, na)} / ${num(rt.bot_p90_ms, na)}`} />
          <Card id="operator_first" label={t('anOperatorFirst')} value={`${num(rt.operator_first_p50_s, na)} / ${num(rt.operator_first_p90_s, na)}`} />
          <Card id="resolution" label={t('anResolution')} value={`${num(rt.resolution_p50_s, na)} / ${num(rt.resolution_p90_s, na)}`} />
          <Card id="csat" label={t('anCSATScore')} value={r.csat.score === null ? na : num(r.csat.score, na, 1)} />
          <Card id="csat_n" label={t('anCSATResponses')} value={`${r.csat.responses} / ${r.csat.surveys}`} />
          <Card id="sessions" label={t('anSessions')} value={num(r.sessions.count, na)} />
          <Card id="session_median" label={t('anSessionMedian')} value={num(r.sessions.median_s, na, 1)} />
          <Card id="session_mean" label={t('anSessionMean')} value={num(r.sessions.mean_s, na, 1)} />
        </div>
      </Section>
      <FunnelSection bot={bot} flow={flow} r={r} csv={csv('funnel')} na={na} />
      <Section title={t('anGoals')} csv={csv('goals')} id="goals">
        <table className="an-table">
          <thead>
            <tr>
              <th>{t('anGoal')}</th>
              <th>{t('anCount')}</th>
              <th>{t('anRate')}</th>
              <th>{t('anValue')}</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(r.goals).map(([name, g]) => (
              <tr key={name} data-goal={name}>
                <td>{name}</td>
                <td>{num(g.count, na)}</td>
                <td>{pct(g.rate, na)}</td>
                <td>{num(g.value, na, 2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title={t('anVariants')} csv={csv('variants')} id="variants">
        {Object.entries(r.variants).map(([split, sp]) => (
          <table className="an-table" key={split} data-split={split}>
            <thead>
              <tr>
                <th>
                  {t('anSplit')} {split}: {t('anVariant')}
                </th>
                <th>{t('anEntered')}</th>
                {Object.keys(sp.p_values).map((g) => (
                  <th key={g}>
                    {g} ({t('anRate')})
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {Object.entries(sp.variants).map(([v, vv]) => (
                <tr key={v}>
                  <td>{v}</td>
                  <td>{num(vv.entered, na)}</td>
                  {Object.keys(sp.p_values).map((g) => (
                    <td key={g}>
                      {num(vv.goals[g] ?? 0, na)} ({pct(vv.entered ? (vv.goals[g] ?? 0) / vv.entered : null, na)})
                    </td>
                  ))}
                </tr>
              ))}
              <tr className="an-pvalues">
                <td colSpan={2}>{t('anPValue')}</td>
                {Object.entries(sp.p_values).map(([g, p]) => {
                  const pv = pValue(p, na);
                  return (
                    <td key={g} className={pv.significant ? 'an-significant' : undefined} title={pv.significant ? t('anSignificant') : undefined} data-pvalue={g}>
                      {pv.text}
                    </td>
                  );
                })}
              </tr>
            </tbody>
          </table>
        ))}
      </Section>
      <Section title={t('anDelivery')} csv={csv('delivery')} id="delivery">
        <table className="an-table">
          <thead>
            <tr>
              <th>{t('anChannel')}</th>
              <th>{t('anSent')}</th>
              <th>{t('anDelivered')}</th>
              <th>{t('anRead')}</th>
              <th>{t('anFailedMsgs')}</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(r.delivery).map(([ch, d]) => (
              <tr key={ch} data-channel={ch}>
                <td>{ch}</td>
                <td>{num(d.sent, na)}</td>
                <td data-delivered>{d.delivered === null ? na : `${num(d.delivered, na)} (${pct(d.delivered_rate, na)})`}</td>
                <td data-read>{d.read === null ? na : `${num(d.read, na)} (${pct(d.read_rate, na)})`}</td>
                <td>{num(d.failed, na)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <PeakSection r={r} csv={csv('peak_hours')} />
      <Section title={t('anBySource')} csv={csv('by_source')} id="by_source">
        <table className="an-table">
          <thead>
            <tr>
              <th>{t('anSource')}</th>
              <th>{t('anStarted')}</th>
              <th>{t('anDialogs')}</th>
              <th>{t('anMessagesIn')}</th>
              <th>{t('anGoals')}</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(r.by_source ?? {}).map(([src, x]) => (
              <tr key={src}>
                <td>{src || t('anNoSource')}</td>
                <td>{num(x.started, na)}</td>
                <td>{num(x.dialogs, na)}</td>
                <td>{num(x.messages.in, na)}</td>
                <td>
                  {Object.entries(x.goals)
                    .map(([g, v]) => `${g}: ${v.count} (${pct(v.rate, na)})`)
                    .join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </div>
  );
}

function FunnelSection({ bot, flow, r, csv, na }: { bot: string; flow: string; r: Report; csv: string; na: string }) {
  const { t } = useI18n();
  const [doc, setDoc] = useState<FlowDoc | null>(null);
  const [specs, setSpecs] = useState<Map<string, NodeSpec>>(new Map());
  useEffect(() => {
    setDoc(null);
    if (!flow) return;
    let live = true;
    Promise.all([app.getDraft(bot, flow), app.getSpec()]).then(
      ([d, spec]) => {
        if (!live) return;
        setSpecs(new Map(spec.nodes.map((s) => [s.type, s])));
        setDoc(d.json);
      },
      () => live && setDoc(null),
    );
    return () => {
      live = false;
    };
  }, [bot, flow]);
  const steps = funnelSteps(r, doc?.start);
  const counts = useMemo(() => canvasCounts(r), [r]);
  const option = useMemo(
    () => ({
      tooltip: { trigger: 'item', formatter: '{b}: {c}' },
      series: [
        {
          type: 'funnel',
          sort: 'none',
          left: '5%',
          width: '90%',
          minSize: '8%',
          label: { show: true, position: 'inside', formatter: '{b}: {c}' },
          data: steps.slice(0, 20).map((s) => ({ name: s.node, value: s.entered })),
        },
      ],
    }),
    [steps],
  );
  return (
    <Section title={t('anFunnel')} csv={csv} id="funnel">
      {steps.length === 0 ? (
        <p className="an-empty">{t('anNoData')}</p>
      ) : (
        <div className="an-funnel">
          <EChart option={option} height={Math.max(160, Math.min(steps.length, 20) * 34)} testId="funnel-chart" />
          <table className="an-table">
            <thead>
              <tr>
                <th>{t('anNode')}</th>
                <th>{t('anEntered')}</th>
                <th>{t('anOfStarted')}</th>
                <th>{t('anDropOff')}</th>
              </tr>
            </thead>
            <tbody>
              {steps.map((s) => (
                <tr key={s.node} data-node={s.node}>
                  <td>{s.node}</td>
                  <td>{num(s.entered, na)}</td>
                  <td>{s.percent === null ? na : `${s.percent.toFixed(0)}%`}</td>
                  <td>{num(s.dropOff, na)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {doc && (
        <>
          <h3>{t('anFunnelCanvas')}</h3>
          <div className="an-canvas" data-testid="analytics-canvas">
            <ReactFlowProvider>
              <Canvas doc={doc} specs={specs} byNode={noProblems} activeNode={undefined} change={ignore} selectReq={null} onSelection={ignore} counts={counts} />
            </ReactFlowProvider>
          </div>
        </>
      )}
    </Section>
  );
}

const noProblems = new Map<string, Problem[]>();
const ignore = () => {};

function PeakSection({ r, csv }: { r: Report; csv: string }) {
  const { t } = useI18n();
  const days = t('anWeekdays').split(',');
  const cells = heatCells(r.peak_hours);
  const option = useMemo(
    () => ({
      tooltip: { position: 'top' },
      grid: { left: 50, right: 20, top: 10, bottom: 60 },
      xAxis: { type: 'category', data: Array.from({ length: 24 }, (_, h) => String(h)), splitArea: { show: true } },
      yAxis: { type: 'category', data: days, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: Math.max(1, maxOf(cells)), calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
      series: [{ type: 'heatmap', data: cells, label: { show: false } }],
    }),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- days follow the language
    [r, days.join()],
  );
  return (
    <Section title={t('anPeak')} csv={csv} id="peak_hours">
      <EChart option={option} height={300} testId="peak-chart" />
    </Section>
  );
}
