import { Migration } from '@mikro-orm/migrations';

/** Providers get slug ids (the image service document's "openai_default"…); saved workflows can be shared. */
export class Migration20261127160000_rest_round_two extends Migration {

  override name = 'Migration20261127160000_rest_round_two';

  override up(): void | Promise<void> {
    this.addSql(`alter table "providers" add column "slug" varchar(64) null;`);
    this.addSql(`update "providers" set "slug" = left(trim(both '_' from regexp_replace(lower("name"), '[^a-z0-9-]+', '_', 'g')), 56) || case when (select count(*) from "providers" p2 where lower(p2."name") = lower("providers"."name")) > 1 then '_' || left("id"::text, 6) else '' end;`);
    this.addSql(`alter table "providers" alter column "slug" set not null;`);
    this.addSql(`alter table "providers" add constraint "providers_slug_unique" unique ("slug");`);
    this.addSql(`alter table "comfy_workflows" add column "shared" boolean not null default false;`);
    this.addSql(`alter table "provider_alerts" drop constraint if exists "provider_alerts_kind_check";`);
    this.addSql(`alter table "provider_alerts" add constraint "provider_alerts_kind_check" check ("kind" in ('LOW_CREDITS', 'CREDITS_EXHAUSTED', 'PROVIDER_UNAVAILABLE', 'HIGH_FAILURE_RATE', 'SLOW_RESPONSE', 'RATE_LIMITED', 'QUEUE_BACKLOG'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`delete from "provider_alerts" where "kind" in ('RATE_LIMITED', 'QUEUE_BACKLOG');`);
    this.addSql(`alter table "provider_alerts" drop constraint if exists "provider_alerts_kind_check";`);
    this.addSql(`alter table "provider_alerts" add constraint "provider_alerts_kind_check" check ("kind" in ('LOW_CREDITS', 'CREDITS_EXHAUSTED', 'PROVIDER_UNAVAILABLE', 'HIGH_FAILURE_RATE', 'SLOW_RESPONSE'));`);
    this.addSql(`alter table "comfy_workflows" drop column "shared";`);
    this.addSql(`alter table "providers" drop constraint "providers_slug_unique";`);
    this.addSql(`alter table "providers" drop column "slug";`);
  }

}
