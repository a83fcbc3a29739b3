import { Migration } from '@mikro-orm/migrations';

export class Migration20261127154500_webhooks_idempotency extends Migration {

  override name = 'Migration20261127154500_webhooks_idempotency';

  override up(): void | Promise<void> {
    this.addSql(`create table "idempotency_keys" ("id" uuid not null, "owner_id" uuid not null, "key" varchar(255) not null, "fingerprint" varchar(64) not null, "resource_type" varchar(16) null, "resource_id" uuid null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "idempotency_keys_created_at_index" on "idempotency_keys" ("created_at");`);
    this.addSql(`alter table "idempotency_keys" add constraint "idempotency_keys_owner_id_key_unique" unique ("owner_id", "key");`);
    this.addSql(`create table "webhook_endpoints" ("id" uuid not null, "owner_id" uuid not null, "job_id" uuid null, "url" varchar(2048) not null, "events" jsonb not null, "enabled" boolean not null default true, "disabled_reason" text null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "webhook_endpoints_owner_id_index" on "webhook_endpoints" ("owner_id");`);
    this.addSql(`create index "webhook_endpoints_job_id_index" on "webhook_endpoints" ("job_id");`);
    this.addSql(`create table "webhook_deliveries" ("id" varchar(64) not null, "owner_id" uuid not null, "endpoint_id" uuid not null, "job_id" uuid null, "event_type" text not null, "dedupe_key" varchar(255) not null, "body" text not null, "status" text not null default 'PENDING', "attempts" int not null default 0, "last_status_code" int null, "last_latency_ms" int null, "last_error" text null, "next_retry_at" timestamptz null, "created_at" timestamptz not null, "delivered_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "webhook_deliveries_endpoint_id_index" on "webhook_deliveries" ("endpoint_id");`);
    this.addSql(`create index "webhook_deliveries_job_id_index" on "webhook_deliveries" ("job_id");`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_dedupe_key_unique" unique ("dedupe_key");`);
    this.addSql(`create index "webhook_deliveries_owner_id_created_at_index" on "webhook_deliveries" ("owner_id", "created_at");`);
    this.addSql(`create table "webhook_secrets" ("id" uuid not null, "owner_id" uuid not null, "secret" varchar(128) not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "webhook_secrets" add constraint "webhook_secrets_owner_id_unique" unique ("owner_id");`);
    this.addSql(`alter table "idempotency_keys" add constraint "idempotency_keys_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_endpoints" add constraint "webhook_endpoints_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_endpoints" add constraint "webhook_endpoints_job_id_foreign" foreign key ("job_id") references "jobs" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoints" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_job_id_foreign" foreign key ("job_id") references "jobs" ("id") on delete set null;`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_event_type_check" check ("event_type" in ('job.started', 'job.progress', 'job.completed', 'job.failed', 'job.cancelled'));`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_status_check" check ("status" in ('PENDING', 'SUCCEEDED', 'FAILED'));`);
    this.addSql(`alter table "webhook_secrets" add constraint "webhook_secrets_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
    this.addSql(`drop table if exists "webhook_endpoints" cascade;`);
    this.addSql(`drop table if exists "webhook_secrets" cascade;`);
    this.addSql(`drop table if exists "idempotency_keys" cascade;`);
  }

}
