// Helpers of the tests that run static/tickerd.js against a real server.

import WebSocket from "ws";

import { TickerClient } from "../static/tickerd.js";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the args of the first `type` event for which pred is true. */
export function next(client, type, pred = () => true, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching "${type}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(type, (...args) => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args);
    });
  });
}

/** Polls pred every 10 ms until it is true, or fails after timeoutMs. */
export async function until(pred, label, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await sleep(10);
  }
}

/**
 * Runs fn with mk(url, opts), which makes a connecting client, and closes
 * every client mk made after fn.
 */
export async function withClients(fn) {
  const clients = [];
  const mk = (url, opts = {}) => {
    const c = new TickerClient(url, { WebSocket, ...opts });
    clients.push(c);
    c.connect();
    return c;
  };
  try {
    await fn(mk);
  } finally {
    for (const c of clients) c.close();
  }
}
