import { useState } from 'preact/hooks';
import { FINISHED, type JobEvent } from '../../../sdk/src/index.ts';
import { atelier, go, messageOf, useLoad, useStream } from '../api.ts';
import { Chart } from '../chart.tsx';
import { ErrorBox, Media, money, ms, Progress, seconds, StatusBadge, View, when } from '../ui.tsx';
import { describeJob } from './jobs.tsx';

/** One job: live progress, ETA and queue place from jobProgress; timings, logs and the result from the job itself. */
export function JobPage({ id }: { id: string }) {
  const job = useLoad(() => atelier.job(id), [id]);
  const [live, setLive] = useState<JobEvent | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const streamError = useStream(
    () => atelier.follow(id),
    (event: JobEvent) => {
      setLive(event);
      // The stored job carries what events do not (logs, files, step timings): read it again at each change of status
      // and now and then while it runs.
      if (event.status !== job.data?.status || FINISHED.includes(event.status) || event.progress % 20 === 0) job.reload();
    },
    [id],
  );

  const act = async (action: 'cancel' | 'retry') => {
    setActionError(null);
    try {
      await (action === 'cancel' ? atelier.cancel(id) : atelier.retry(id));
      job.reload();
      if (action === 'retry') go(`jobs/${id}`);
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <section>
      <p>
        <a href="#/jobs">← Jobs</a>
      </p>
      <View state={job}>
        {(j) => {
          const status = live && !FINISHED.includes(j.status) ? live.status : j.status;
          const progress = live && !FINISHED.includes(j.status) ? live.progress : j.progress;
          const eta = live?.etaSeconds ?? j.etaSeconds;
          const queuePosition = status === 'QUEUED' ? (live?.queuePosition ?? j.queuePosition) : null;
          const message = live?.message ?? j.statusMessage;
          const steps = j.stepDurationsMs ?? [];
          return (
            <div class="job-page" data-status={status}>
              <div class="title-row">
                <h1>{describeJob(j)}</h1>
                <StatusBadge status={status} />
              </div>
              <Progress value={progress} status={status} />
              <dl class="facts">
                <dt>State</dt>
                <dd data-testid="job-message">{message ?? '–'}</dd>
                <dt>ETA</dt>
                <dd>{FINISHED.includes(status) ? 'done' : seconds(eta)}</dd>
                <dt>Queue</dt>
                <dd>{queuePosition != null ? `#${queuePosition + 1} (${queuePosition} ahead)` : '–'}</dd>
                <dt>Kind</dt>
                <dd>
                  {j.kind.toLowerCase().replace('_', ' ')} on {j.engine ?? '–'}
                </dd>
                <dt>Waited</dt>
                <dd>{ms(j.queuedMs)}</dd>
                <dt>Ran</dt>
                <dd>{ms(j.runMs)}</dd>
                <dt>Cost</dt>
                <dd>{money(j.cost)}</dd>
                <dt>Created</dt>
                <dd>{when(j.createdAt)}</dd>
                {j.batchId ? (
                  <>
                    <dt>Batch</dt>
                    <dd>
                      <a href={`#/batches/${j.batchId}`}>{j.batchId.slice(0, 8)}</a>
                    </dd>
                  </>
                ) : null}
              </dl>
              {j.error ? <ErrorBox error={new Error(`${j.error.code}: ${j.error.message}`)} /> : null}
              {streamError ? <ErrorBox error={streamError} /> : null}
              {actionError ? <div class="error">{messageOf(actionError)}</div> : null}
              <div class="actions">
                {!FINISHED.includes(status) ? (
                  <button type="button" class="danger" onClick={() => act('cancel')}>
                    Cancel
                  </button>
                ) : null}
                {status === 'FAILED' || status === 'CANCELLED' ? (
                  <button type="button" onClick={() => act('retry')}>
                    Retry
                  </button>
                ) : null}
              </div>
              {j.preview && !j.assets.length ? <img class="media" src={j.preview} alt="Preview" /> : null}
              {j.assets.length ? (
                <div class="results">
                  <h2>Result</h2>
                  {j.assets.map((asset, i) => (
                    <figure key={asset.id}>
                      <Media asset={asset} alt={`Result ${i + 1} of ${describeJob(j)}`} />
                      <figcaption>
                        {asset.width ? `${asset.width}×${asset.height} · ` : ''}
                        {asset.durationSeconds ? `${asset.durationSeconds.toFixed(1)} s · ` : ''}
                        {asset.mime} ·{' '}
                        <a href={asset.url} download>
                          Download
                        </a>
                      </figcaption>
                    </figure>
                  ))}
                </div>
              ) : FINISHED.includes(status) ? null : (
                <p class="muted">The result shows here when the job completes.</p>
              )}
              {steps.length ? (
                <Chart title="Step timings (ms)" x={steps.map((_, i) => i)} labels={steps.map((_, i) => String(i + 1))} series={[{ label: 'ms', values: steps }]} bars height={180} xLabel="Step" />
              ) : null}
              <h2>Logs</h2>
              {j.logs.length ? (
                <pre class="logs">
                  {j.logs.map((l) => `${new Date(l.at).toLocaleTimeString()} ${l.level.padEnd(5)} ${l.message}`).join('\n')}
                </pre>
              ) : (
                <p class="muted">No log lines yet.</p>
              )}
              <details>
                <summary>Request</summary>
                <pre class="logs">{JSON.stringify(j.input, null, 2)}</pre>
              </details>
            </div>
          );
        }}
      </View>
    </section>
  );
}
