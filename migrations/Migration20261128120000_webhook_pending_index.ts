import { Migration } from '@mikro-orm/migrations';

/** The webhook sweeper's query (src/webhooks/webhook.sweeper.ts) reads PENDING deliveries only, by when they were due. */
export class Migration20261128120000_webhook_pending_index extends Migration {

  override name = 'Migration20261128120000_webhook_pending_index';

  override up(): void | Promise<void> {
    this.addSql(`create index "webhook_deliveries_pending_due_index" on "webhook_deliveries" ((coalesce("next_retry_at", "created_at"))) where "status" = 'PENDING';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "webhook_deliveries_pending_due_index";`);
  }

}
