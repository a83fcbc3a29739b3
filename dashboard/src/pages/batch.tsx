import { operations } from '../../../sdk/src/index.ts';
import { atelier, useLoad, useStream } from '../api.ts';
import { ErrorBox, money, Progress, StatusBadge, View } from '../ui.tsx';
import { describeJob } from './jobs.tsx';

/** A batch's aggregate, live from batchProgress, and its jobs. */
export function BatchPage({ id }: { id: string }) {
  const batch = useLoad(() => atelier.request(operations.Batch, { id }).then((r) => r.batch), [id]);
  const streamError = useStream(
    () => atelier.subscribe(operations.BatchProgress, { id }),
    ({ batchProgress }) => {
      batch.set((b) => (b ? { ...b, progress: batchProgress } : b));
      if (batchProgress.completed + batchProgress.failed + batchProgress.cancelled > 0) batch.reload();
    },
    [id],
  );
  return (
    <section>
      <p>
        <a href="#/jobs">← Jobs</a>
      </p>
      <View state={batch}>
        {(b) => (
          <>
            <div class="title-row">
              <h1>Batch of {b.total}</h1>
              <StatusBadge status={b.progress.status} />
            </div>
            <Progress value={b.progress.progress} status={b.progress.status} />
            <p class="muted">
              {b.progress.completed} completed · {b.progress.processing} running · {b.progress.queued} queued · {b.progress.failed} failed · {money(b.progress.cost)}
            </p>
            {streamError ? <ErrorBox error={streamError} /> : null}
            <div class="gallery">
              {b.jobs.map((j) => (
                <a href={`#/jobs/${j.id}`} class="tile" key={j.id}>
                  {j.assets[0] ? <img src={j.assets[0].url} alt={describeJob(j)} loading="lazy" /> : <Progress value={j.progress} status={j.status} />}
                  <span class="small">{describeJob(j)}</span>
                </a>
              ))}
            </div>
          </>
        )}
      </View>
    </section>
  );
}
