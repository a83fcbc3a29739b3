import { useState } from 'preact/hooks';
import { operations } from '../../../sdk/src/index.ts';
import { atelier, useLoad, useStream } from '../api.ts';
import { Chart, Bars } from '../chart.tsx';
import { bytes, Empty, ErrorBox, StatusBadge, View, when } from '../ui.tsx';

const WINDOW = 120;

interface Sample {
  t: number;
  cpu: number;
  ram: number;
  gpus: Record<string, { util: number | null; vram: number; temp: number | null }>;
}

/** Workers and their GPUs, live telemetry (gpuTelemetry, once a second) and queue depth per engine. */
export function WorkersPage() {
  const workers = useLoad(() => atelier.request(operations.Workers), []);
  const [samples, setSamples] = useState<Sample[]>([]);
  const streamError = useStream(
    () => atelier.subscribe(operations.GpuTelemetry),
    ({ gpuTelemetry: r }) => {
      const gpus: Sample['gpus'] = {};
      for (const g of r.gpus) gpus[`${g.workerId ?? ''} #${g.id}`] = { util: g.utilization, vram: g.totalVram ? (100 * g.usedVram) / g.totalVram : 0, temp: g.temperature };
      const sample = { t: new Date(r.at).getTime() / 1000, cpu: r.system.cpuPercent, ram: r.system.totalRam ? (100 * r.system.usedRam) / r.system.totalRam : 0, gpus };
      setSamples((old) => [...old.slice(-(WINDOW - 1)), sample]);
    },
    [],
  );
  const x = samples.map((s) => s.t);
  const gpuNames = [...new Set(samples.flatMap((s) => Object.keys(s.gpus)))];

  return (
    <section>
      <div class="title-row">
        <h1>Workers</h1>
        <button type="button" class="secondary" onClick={workers.reload}>
          Refresh
        </button>
      </div>
      {streamError ? <ErrorBox error={streamError} /> : null}
      <div class="charts">
        {samples.length > 1 ? (
          <>
            <Chart title="Host CPU and RAM (%)" time x={x} unit="%" max={100} series={[{ label: 'CPU', values: samples.map((s) => s.cpu) }, { label: 'RAM', values: samples.map((s) => s.ram) }]} />
            {gpuNames.length ? (
              <>
                <Chart title="GPU utilization (%)" time x={x} unit="%" max={100} series={gpuNames.map((n) => ({ label: n, values: samples.map((s) => s.gpus[n]?.util ?? null) }))} />
                <Chart title="GPU memory used (%)" time x={x} unit="%" max={100} series={gpuNames.map((n) => ({ label: n, values: samples.map((s) => s.gpus[n]?.vram ?? null) }))} />
              </>
            ) : (
              <p class="muted">No GPUs reported: the workers run on CPU.</p>
            )}
          </>
        ) : (
          <p class="muted loading">Waiting for telemetry…</p>
        )}
      </div>
      <View state={workers}>
        {({ workers: list, queues }) => (
          <>
            <Bars
              title="Queue depth per engine"
              rows={queues.map((q) => ({ key: q.engine, value: q.waiting, note: `${q.running} running${q.paused ? ', paused' : ''}${q.failed ? `, ${q.failed} failed` : ''}` }))}
              format={(n) => `${n} waiting`}
            />
            <h2>Processes</h2>
            {list.length ? (
              <div class="cards" data-testid="workers">
                {list.map((w) => (
                  <article class="card worker" key={w.id} data-worker={w.id}>
                    <header>
                      <strong>{w.id}</strong> <StatusBadge status={w.status} />
                    </header>
                    <p class="small">
                      Engines: {w.engines.join(', ')} · {w.executionProvider ?? 'no onnx'} · since {when(w.startedAt)} · heartbeat {when(w.lastHeartbeat)}
                    </p>
                    <p class="small">
                      CPU {w.system.cpuPercent.toFixed(0)}% · RAM {bytes(w.system.usedRam)} / {bytes(w.system.totalRam)} · running {w.runningJobs.length ? w.runningJobs.map((j) => <a href={`#/jobs/${j}`}>{j.slice(0, 8)} </a>) : 'nothing'}
                    </p>
                    {w.gpus.map((g) => (
                      <p class="small gpu" key={g.id}>
                        GPU {g.id} {g.name}: {g.utilization ?? '–'}% · {bytes(g.usedVram)} / {bytes(g.totalVram)} · {g.temperature ?? '–'} °C · {g.powerDraw ?? '–'} W
                      </p>
                    ))}
                    {w.models.length ? <p class="small muted">Models: {w.models.join(', ')}</p> : null}
                  </article>
                ))}
              </div>
            ) : (
              <Empty>No worker has reported. Start one with npm run worker (./atelier start runs one).</Empty>
            )}
          </>
        )}
      </View>
    </section>
  );
}
