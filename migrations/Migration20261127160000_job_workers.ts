import { Migration } from '@mikro-orm/migrations';

export class Migration20261127160000_job_workers extends Migration {

  override name = 'Migration20261127160000_job_workers';

  override up(): void | Promise<void> {
    // Which worker ran each attempt (a lost worker's run and its re-run both appear), and the latest one.
    this.addSql(`alter table "jobs" add column "worker_id" varchar(255) null, add column "attempt_workers" jsonb null;`);
    // The sweeper looks for a lost worker's running jobs.
    this.addSql(`create index "jobs_worker_id_status_index" on "jobs" ("worker_id", "status");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "jobs_worker_id_status_index";`);
    this.addSql(`alter table "jobs" drop column if exists "attempt_workers", drop column if exists "worker_id";`);
  }

}
