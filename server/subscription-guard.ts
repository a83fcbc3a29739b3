import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Core } from '../src/core.ts';

/** graphql-ws's close code for a connection whose credential no longer holds. */
const FORBIDDEN = 4403;

/**
 * Ends the open subscriptions of a credential that stopped being valid — a revoked API key, a deleted user, an
 * expired token. A revocation is announced over pubsub (`credentials`), so every API process rechecks its
 * sockets at once; a periodic recheck catches what nobody announced (a user removed in the database).
 */
export class SubscriptionGuard {
  private readonly sockets = new Map<WebSocket, string>();
  private readonly core: Core;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private notices: AsyncIterableIterator<unknown> | undefined;
  private checking: Promise<void> | undefined;

  constructor(core: Core, log: Logger) {
    this.core = core;
    this.log = log;
  }

  async start(intervalMs: number): Promise<void> {
    this.timer = setInterval(() => void this.recheck(), intervalMs);
    this.timer.unref();
    this.notices = await this.core.pubsub.subscribe('credentials');
    void (async () => {
      for await (const _notice of this.notices!) void this.recheck();
    })().catch((error) => this.log.warn({ err: error }, 'credential notices stopped'));
  }

  /**
   * A connection made with `authorization` (only authenticated ones are watched); a subscribe message carrying
   * its own credential (GraphiQL's `extensions.headers`) is tracked the same way, the latest one winning.
   */
  track(socket: WebSocket, authorization: string | null) {
    if (!authorization) return;
    const known = this.sockets.has(socket);
    this.sockets.set(socket, authorization);
    if (!known) socket.once('close', () => this.sockets.delete(socket));
  }

  /** Rechecks every watched socket's credential; ones refused are closed. A recheck in flight is joined. */
  recheck(): Promise<void> {
    this.checking ??= this.run().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Each distinct credential is checked once, however many sockets share it (one user's tabs, a fleet of bots). */
  private async run() {
    const em = this.core.orm.em.fork() as EntityManager;
    const byCredential = new Map<string, WebSocket[]>();
    for (const [socket, authorization] of this.sockets) {
      const sharing = byCredential.get(authorization);
      if (sharing) sharing.push(socket);
      else byCredential.set(authorization, [socket]);
    }
    for (const [authorization, sockets] of byCredential) {
      try {
        await this.core.auth.authenticate(em, authorization);
      } catch (error) {
        // A database that cannot answer says nothing about the credential: keep the socket, check again later.
        if ((error as { code?: string }).code !== 'UNAUTHENTICATED') continue;
        for (const socket of sockets) {
          // One that changed its credential meanwhile is judged on the new one next time.
          if (this.sockets.get(socket) !== authorization) continue;
          this.sockets.delete(socket);
          socket.close(FORBIDDEN, (error as Error).message.slice(0, 120));
        }
      }
    }
  }

  /**
   * A subscription whose credential is refused as it starts (revoked or deleted in between): the socket closes
   * with 4403 like one caught by a recheck; any other error is the caller's to handle.
   */
  refuse(socket: WebSocket, error: unknown): never {
    const cause = error as { code?: string; originalError?: { code?: string }; extensions?: { code?: string }; message?: string };
    const code = cause.code ?? cause.originalError?.code ?? cause.extensions?.code;
    if (code === 'UNAUTHENTICATED') {
      this.sockets.delete(socket);
      socket.close(FORBIDDEN, String(cause.message ?? 'Not authenticated').slice(0, 120));
    }
    throw error;
  }

  async stop() {
    clearInterval(this.timer);
    await this.notices?.return?.();
  }
}
