import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

/** Structured JSON logs; human-readable when a person is watching the terminal (LOG_FORMAT=auto). */
export function createLogger(name: string, config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>): Logger {
  const pretty = config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && process.stdout.isTTY);
  return pino({
    name,
    level: config.LOG_LEVEL,
    redact: { paths: ['*.password', '*.apiKey', '*.authorization', 'req.headers.authorization'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } } : {}),
  });
}
