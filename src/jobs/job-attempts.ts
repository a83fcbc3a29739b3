import { hostname } from 'node:os';

/** How this process is named in the worker registry, in BullMQ, and on the job rows it runs. */
export const workerId = () => `${hostname()}:${process.pid}`;
