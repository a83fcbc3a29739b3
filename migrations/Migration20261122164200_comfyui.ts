import { Migration } from '@mikro-orm/migrations';

export class Migration20261122164200_comfyui extends Migration {

  override name = 'Migration20261122164200_comfyui';

  override up(): void | Promise<void> {
    this.addSql(`create table "comfy_servers" ("id" uuid not null, "url" varchar(512) not null, "name" varchar(128) null, "enabled" boolean not null default true, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "comfy_servers" add constraint "comfy_servers_url_unique" unique ("url");`);

    this.addSql(`create table "comfy_workflows" ("id" uuid not null, "name" varchar(128) not null, "description" text null, "workflow" jsonb not null, "bindings" jsonb not null, "owner_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "comfy_workflows" add constraint "comfy_workflows_name_unique" unique ("name");`);
    this.addSql(`create index "comfy_workflows_owner_id_index" on "comfy_workflows" ("owner_id");`);
    this.addSql(`alter table "comfy_workflows" add constraint "comfy_workflows_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on delete cascade;`);

    // WORKFLOW jobs run ComfyUI workflows.
    this.addSql(`alter table "jobs" drop constraint if exists "jobs_kind_check";`);
    this.addSql(`alter table "jobs" add constraint "jobs_kind_check" check ("kind" in ('IMAGE', 'VIDEO', 'SPEECH', 'TALKING_HEAD', 'WORKFLOW'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "jobs" drop constraint if exists "jobs_kind_check";`);
    this.addSql(`alter table "jobs" add constraint "jobs_kind_check" check ("kind" in ('IMAGE', 'VIDEO', 'SPEECH', 'TALKING_HEAD'));`);
    this.addSql(`drop table if exists "comfy_workflows" cascade;`);
    this.addSql(`drop table if exists "comfy_servers" cascade;`);
  }

}
