import cliProgress from 'cli-progress';
import type { JobEvent } from '../sdk/src/index.ts';

const seconds = (value: number | null | undefined) => (value == null ? '–' : value < 90 ? `${value}s` : `${Math.round(value / 60)}m`);

/** What one event says beside the bar: where the job is, and how long it has left. */
function describe(event: JobEvent): { state: string; etaText: string; message: string } {
  const state = event.status === 'QUEUED' && event.queuePosition != null ? `QUEUED #${event.queuePosition + 1}` : event.status;
  return { state, etaText: seconds(event.etaSeconds), message: (event.message ?? '').slice(0, 40) };
}

/**
 * A progress bar (cli-progress) fed by a job's events. On a terminal it redraws in place; piped, it writes
 * one line per change of status and at the end, so logs stay readable.
 */
export class JobProgressBar {
  private readonly label: string;
  private readonly bar: cliProgress.SingleBar;
  private readonly tty: boolean;
  private started = false;
  private lastStatus: string | null = null;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.label = label;
    this.tty = Boolean(stream.isTTY);
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} {bar} {percentage}% | {state} | ETA {etaText} | {message}`,
        hideCursor: true,
        clearOnComplete: false,
        barsize: 30,
        noTTYOutput: false,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(event: JobEvent) {
    const payload = describe(event);
    if (this.tty) {
      if (!this.started) this.bar.start(100, event.progress, payload);
      else this.bar.update(event.progress, payload);
      this.started = true;
    } else if (event.status !== this.lastStatus) {
      process.stderr.write(`${this.label} ${event.progress}% | ${payload.state}${payload.message ? ` | ${payload.message}` : ''}\n`);
    }
    this.lastStatus = event.status;
  }

  stop(final?: JobEvent) {
    if (this.tty && this.started) {
      if (final) this.bar.update(final.progress, describe(final));
      this.bar.stop();
    } else if (final && final.status !== this.lastStatus) {
      this.update(final);
    }
  }
}
