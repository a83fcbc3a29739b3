import { Migration } from '@mikro-orm/migrations';

export class Migration20261127160000_config_files extends Migration {

  override name = 'Migration20261127160000_config_files';

  override up(): void | Promise<void> {
    this.addSql(`alter table "characters" add column "source" varchar(512) null;`);
    this.addSql(`alter table "project_presets" add column "source" varchar(512) null;`);
    this.addSql(`create table "scene_profiles" ("id" uuid not null, "name" varchar(128) not null, "prompt" text not null, "duration_seconds" double precision not null, "project_id" uuid null, "source" varchar(512) null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "scene_profiles" add constraint "scene_profiles_name_unique" unique ("name");`);
    this.addSql(`create index "scene_profiles_project_id_index" on "scene_profiles" ("project_id");`);
    this.addSql(`alter table "scene_profiles" add constraint "scene_profiles_project_id_foreign" foreign key ("project_id") references "project_presets" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "scene_profiles" cascade;`);
    this.addSql(`alter table "project_presets" drop column "source";`);
    this.addSql(`alter table "characters" drop column "source";`);
  }

}
