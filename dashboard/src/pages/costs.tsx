import { useState } from 'preact/hooks';
import { operations } from '../../../sdk/src/index.ts';
import { atelier, useLoad } from '../api.ts';
import { Bars, Chart } from '../chart.tsx';
import { Empty, money, ms, View } from '../ui.tsx';

const GROUPS = ['DAY', 'PROVIDER', 'USER', 'KIND'] as const;

/** Costs and job counts by day, provider, user and kind, over a chosen window. */
export function CostsPage() {
  const [days, setDays] = useState(30);
  const costs = useLoad(async () => {
    const from = new Date(Date.now() - days * 86_400_000).toISOString();
    const answers = await Promise.all(GROUPS.map((groupBy) => atelier.request(operations.Costs, { groupBy, from }).then((r) => r.costs)));
    return Object.fromEntries(GROUPS.map((g, i) => [g, answers[i]!])) as Record<(typeof GROUPS)[number], (typeof answers)[number]>;
  }, [days]);
  return (
    <section>
      <div class="title-row">
        <h1>Costs</h1>
        <select value={days} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))} aria-label="Window">
          <option value={7}>Last 7 days</option>
          <option value={30}>Last 30 days</option>
          <option value={90}>Last 90 days</option>
        </select>
      </div>
      <View state={costs} empty={(c) => (c.DAY.length ? null : <Empty>No jobs in this window yet.</Empty>)}>
        {(c) => {
          // Every day of the window, those without jobs as zero, so the bars stand where their days are.
          const found = new Map(c.DAY.map((d) => [d.key, d]));
          const byDay = Array.from({ length: days }, (_, i) => {
            const key = new Date(Date.now() - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10);
            return found.get(key) ?? { key, count: 0, totalCost: 0, averageGenerationMs: null };
          });
          const total = byDay.reduce((sum, d) => sum + d.totalCost, 0);
          const jobs = byDay.reduce((sum, d) => sum + d.count, 0);
          return (
            <>
              <p class="muted">
                {jobs} jobs · {money(total)} in total
              </p>
              <div class="charts">
                <Chart
                  title="Cost per day ($)"
                  x={byDay.map((d) => Date.parse(`${d.key}T12:00:00Z`) / 1000)}
                  time
                  bars
                  series={[{ label: 'cost', values: byDay.map((d) => d.totalCost) }]}
                />
                <Chart title="Jobs per day" x={byDay.map((d) => Date.parse(`${d.key}T12:00:00Z`) / 1000)} time bars series={[{ label: 'jobs', values: byDay.map((d) => d.count) }]} />
              </div>
              <div class="charts">
                <Bars title="By provider" rows={c.PROVIDER.map((r) => ({ key: r.key, value: r.totalCost, note: `${r.count} jobs` }))} format={money} />
                <Bars title="By user" rows={c.USER.map((r) => ({ key: r.key, value: r.totalCost, note: `${r.count} jobs` }))} format={money} />
                <Bars title="Jobs by kind" rows={c.KIND.map((r) => ({ key: r.key.toLowerCase(), value: r.count, note: `avg ${ms(r.averageGenerationMs)}` }))} format={(n) => String(n)} />
              </div>
            </>
          );
        }}
      </View>
    </section>
  );
}
