import { Migration } from '@mikro-orm/migrations';

export class Migration20261122154539_generation_kinds extends Migration {

  override name = 'Migration20261122154539_generation_kinds';

  override up(): void | Promise<void> {
    // Prompt search in history uses trigram matching; pg_trgm is a trusted extension since PostgreSQL 13.
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(`create table "project_presets" ("id" uuid not null, "name" varchar(128) not null, "style" varchar(128) null, "default_engine" varchar(64) null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "project_presets" add constraint "project_presets_name_unique" unique ("name");`);

    this.addSql(`create table "batches" ("id" uuid not null, "owner_id" uuid not null, "priority" int not null default 5, "metadata" jsonb null, "total" int not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "batches_owner_id_index" on "batches" ("owner_id");`);

    this.addSql(`create table "job_logs" ("id" bigserial primary key, "job_id" uuid not null, "at" timestamptz not null, "level" text not null, "message" text not null);`);
    this.addSql(`create index "job_logs_job_id_id_index" on "job_logs" ("job_id", "id");`);

    this.addSql(`create table "characters" ("id" uuid not null, "name" varchar(128) not null, "prompt_fragment" text not null, "negative_fragment" text null, "reference_image_id" uuid null, "seed" int null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "characters" add constraint "characters_name_unique" unique ("name");`);

    this.addSql(`create table "project_presets_characters" ("project_preset_id" uuid not null, "character_id" uuid not null, primary key ("project_preset_id", "character_id"));`);

    this.addSql(`alter table "users" add "settings" jsonb null;`);

    this.addSql(`alter table "jobs" add "prompt" text null, add "batch_id" uuid null, add "timeout_seconds" int not null default 300, add "attempt" int not null default 0, add "step_durations_ms" jsonb null;`);
    this.addSql(`alter table "jobs" add constraint "jobs_batch_id_foreign" foreign key ("batch_id") references "batches" ("id") on delete set null;`);
    this.addSql(`create index "jobs_batch_id_index" on "jobs" ("batch_id");`);
    this.addSql(`create index "jobs_kind_created_at_index" on "jobs" ("kind", "created_at");`);
    this.addSql(`create index "jobs_prompt_trgm_index" on "jobs" using gin ("prompt" gin_trgm_ops);`);

    this.addSql(`alter table "assets" add "filename" varchar(255) null;`);
    this.addSql(`create index "assets_owner_id_kind_created_at_index" on "assets" ("owner_id", "kind", "created_at");`);

    this.addSql(`alter table "batches" add constraint "batches_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on delete cascade;`);

    this.addSql(`alter table "job_logs" add constraint "job_logs_job_id_foreign" foreign key ("job_id") references "jobs" ("id") on delete cascade;`);
    this.addSql(`alter table "job_logs" add constraint "job_logs_level_check" check ("level" in ('debug', 'info', 'warn', 'error'));`);

    this.addSql(`alter table "characters" add constraint "characters_reference_image_id_foreign" foreign key ("reference_image_id") references "assets" ("id") on delete set null;`);

    this.addSql(`alter table "project_presets_characters" add constraint "project_presets_characters_project_preset_id_foreign" foreign key ("project_preset_id") references "project_presets" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "project_presets_characters" add constraint "project_presets_characters_character_id_foreign" foreign key ("character_id") references "characters" ("id") on update cascade on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "project_presets_characters" drop constraint "project_presets_characters_project_preset_id_foreign";`);
    this.addSql(`alter table "jobs" drop constraint "jobs_batch_id_foreign";`);
    this.addSql(`alter table "project_presets_characters" drop constraint "project_presets_characters_character_id_foreign";`);

    this.addSql(`drop table if exists "project_presets" cascade;`);
    this.addSql(`drop table if exists "batches" cascade;`);
    this.addSql(`drop table if exists "job_logs" cascade;`);
    this.addSql(`drop table if exists "characters" cascade;`);
    this.addSql(`drop table if exists "project_presets_characters" cascade;`);

    this.addSql(`drop index "assets_owner_id_kind_created_at_index";`);
    this.addSql(`alter table "assets" drop column "filename";`);

    this.addSql(`drop index "jobs_batch_id_index";`);
    this.addSql(`drop index "jobs_kind_created_at_index";`);
    this.addSql(`drop index "jobs_prompt_trgm_index";`);
    this.addSql(`alter table "jobs" drop column "prompt", drop column "batch_id", drop column "timeout_seconds", drop column "attempt", drop column "step_durations_ms";`);

    this.addSql(`alter table "users" drop column "settings";`);
  }

}
