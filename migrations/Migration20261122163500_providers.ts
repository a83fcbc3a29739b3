import { Migration } from '@mikro-orm/migrations';

export class Migration20261122163500_providers extends Migration {

  override name = 'Migration20261122163500_providers';

  override up(): void | Promise<void> {
    this.addSql(`create table "providers" ("id" uuid not null, "type" text not null, "name" varchar(128) not null, "api_key_encrypted" text not null, "api_key_hint" varchar(16) not null, "config" jsonb not null, "is_default" boolean not null default false, "is_active" boolean not null default true, "cost_per_image" numeric(12,6) not null default 0, "rate_limit_rpm" int null, "priority" int not null default 100, "base_url" varchar(512) null, "credits_remaining" numeric(18,6) null, "credits_checked_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "providers" add constraint "providers_name_unique" unique ("name");`);
    this.addSql(`alter table "providers" add constraint "providers_type_check" check ("type" in ('OPENAI', 'PIAPI', 'STABLE_DIFFUSION'));`);

    this.addSql(`create table "provider_attempts" ("id" bigserial primary key, "job_id" uuid not null, "provider_id" uuid null, "provider_name" varchar(128) not null, "attempt_no" int not null, "outcome" text not null, "http_status" int null, "latency_ms" int not null default 0, "cost" numeric(12,6) not null default 0, "error" text null, "at" timestamptz not null);`);
    this.addSql(`create index "provider_attempts_job_id_index" on "provider_attempts" ("job_id");`);
    this.addSql(`create index "provider_attempts_provider_id_at_index" on "provider_attempts" ("provider_id", "at");`);
    this.addSql(`alter table "provider_attempts" add constraint "provider_attempts_outcome_check" check ("outcome" in ('SUCCESS', 'CACHED', 'TIMEOUT', 'RATE_LIMITED', 'SERVER_ERROR', 'NO_CREDITS', 'EMPTY_RESULT', 'REJECTED', 'SKIPPED_CIRCUIT_OPEN', 'SKIPPED_RATE_LIMIT', 'SKIPPED_NO_CREDITS'));`);
    this.addSql(`alter table "provider_attempts" add constraint "provider_attempts_job_id_foreign" foreign key ("job_id") references "jobs" ("id") on delete cascade;`);
    this.addSql(`alter table "provider_attempts" add constraint "provider_attempts_provider_id_foreign" foreign key ("provider_id") references "providers" ("id") on delete set null;`);

    this.addSql(`create table "provider_alerts" ("id" uuid not null, "provider_id" uuid null, "kind" text not null, "message" text not null, "data" jsonb null, "at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "provider_alerts_at_index" on "provider_alerts" ("at");`);
    this.addSql(`alter table "provider_alerts" add constraint "provider_alerts_kind_check" check ("kind" in ('LOW_CREDITS', 'CREDITS_EXHAUSTED', 'PROVIDER_UNAVAILABLE', 'HIGH_FAILURE_RATE', 'SLOW_RESPONSE'));`);
    this.addSql(`alter table "provider_alerts" add constraint "provider_alerts_provider_id_foreign" foreign key ("provider_id") references "providers" ("id") on delete set null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "provider_alerts" cascade;`);
    this.addSql(`drop table if exists "provider_attempts" cascade;`);
    this.addSql(`drop table if exists "providers" cascade;`);
  }

}
