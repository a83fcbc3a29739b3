import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for every hot query on jobs (lists with each filter, keyset cursors, counts, stats, the ComfyUI prompt
 * lookup, the daily quota count): test/integration/jobs.explain.integration.test.ts EXPLAINs each at 100k rows.
 */
export class Migration20261127160000_job_indexes extends Migration {

  override name = 'Migration20261127160000_job_indexes';

  override up(): void | Promise<void> {
    this.addSql(`drop index if exists "jobs_owner_id_created_at_index";`);
    this.addSql(`create index "jobs_owner_created_id_index" on "jobs" ("owner_id", "created_at", "id");`);
    this.addSql(`create index "jobs_created_id_index" on "jobs" ("created_at", "id");`);
    this.addSql(`create index "jobs_owner_status_created_index" on "jobs" ("owner_id", "status", "created_at", "id");`);
    this.addSql(`create index "jobs_owner_kind_created_index" on "jobs" ("owner_id", "kind", "created_at", "id");`);
    this.addSql(`create index "jobs_status_kind_index" on "jobs" ("status", "kind");`);
    this.addSql(`create index "jobs_comfy_prompt_index" on "jobs" ((input ->> 'promptId')) where engine = 'comfyui';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "jobs_comfy_prompt_index";`);
    this.addSql(`drop index if exists "jobs_status_kind_index";`);
    this.addSql(`drop index if exists "jobs_owner_kind_created_index";`);
    this.addSql(`drop index if exists "jobs_owner_status_created_index";`);
    this.addSql(`drop index if exists "jobs_created_id_index";`);
    this.addSql(`drop index if exists "jobs_owner_created_id_index";`);
    this.addSql(`create index "jobs_owner_id_created_at_index" on "jobs" ("owner_id", "created_at");`);
  }

}
