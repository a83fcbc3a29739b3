import { Migration } from '@mikro-orm/migrations';

export class Migration20261122153116_initial extends Migration {

  override name = 'Migration20261122153116_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "users" ("id" uuid not null, "username" varchar(64) not null, "password_hash" varchar(255) not null, "role" text not null default 'user', "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_username_unique" unique ("username");`);
    this.addSql(`alter table "users" add constraint "users_role_check" check ("role" in ('admin', 'user'));`);

    this.addSql(`create table "jobs" ("id" uuid not null, "kind" text not null, "status" text not null default 'QUEUED', "progress" int not null default 0, "status_message" text null, "input" jsonb not null, "result" jsonb null, "error_code" varchar(64) null, "error_message" text null, "priority" int not null default 5, "engine" varchar(64) null, "cost" numeric(12,6) not null default 0, "owner_id" uuid not null, "created_at" timestamptz not null, "started_at" timestamptz null, "finished_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "jobs_owner_id_created_at_index" on "jobs" ("owner_id", "created_at");`);
    this.addSql(`create index "jobs_status_created_at_index" on "jobs" ("status", "created_at");`);
    this.addSql(`alter table "jobs" add constraint "jobs_kind_check" check ("kind" in ('IMAGE', 'VIDEO', 'SPEECH', 'TALKING_HEAD'));`);
    this.addSql(`alter table "jobs" add constraint "jobs_status_check" check ("status" in ('QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'));`);

    this.addSql(`create table "assets" ("id" uuid not null, "kind" text not null, "mime" varchar(128) not null, "bytes" bigint not null, "sha256" varchar(64) not null, "width" int null, "height" int null, "duration_seconds" double precision null, "storage_key" varchar(512) not null, "owner_id" uuid not null, "job_id" uuid null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "assets_owner_id_index" on "assets" ("owner_id");`);
    this.addSql(`create index "assets_job_id_index" on "assets" ("job_id");`);
    this.addSql(`alter table "assets" add constraint "assets_kind_check" check ("kind" in ('IMAGE', 'VIDEO', 'AUDIO'));`);

    this.addSql(`create table "api_keys" ("id" uuid not null, "user_id" uuid not null, "name" varchar(128) not null, "prefix" varchar(16) not null, "hash" varchar(64) not null, "scopes" jsonb not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "api_keys_user_id_index" on "api_keys" ("user_id");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_hash_unique" unique ("hash");`);

    this.addSql(`alter table "jobs" add constraint "jobs_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on delete cascade;`);

    this.addSql(`alter table "assets" add constraint "assets_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "assets" add constraint "assets_job_id_foreign" foreign key ("job_id") references "jobs" ("id") on delete set null;`);

    this.addSql(`alter table "api_keys" add constraint "api_keys_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
  }

}
