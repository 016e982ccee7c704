// Types of tickerd.js, the client for tickerd's WebSocket protocol v1.
// Checked in CI: `npm run typecheck` compiles test/usage.ts against them.

export const CONNECTING: "connecting";
export const OPEN: "open";
export const RECONNECTING: "reconnecting";
export const CLOSED: "closed";
export type State = "connecting" | "open" | "reconnecting" | "closed";

/** The part of a WebSocket the client uses: the browser's, or the ws package's in Node. */
export interface WebSocketLike {
  binaryType?: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}

export interface ClientOptions {
  /** WebSocket constructor; defaults to globalThis.WebSocket (in Node: pass the ws package's). */
  WebSocket?: new (url: string) => WebSocketLike;
  /** ms between app-level pings while open (10000). */
  pingInterval?: number;
  /** ms to wait for the pong before the link counts as dead (5000). */
  pingTimeout?: number;
  /** ms a socket may stay connecting (10000). */
  connectTimeout?: number;
  /** ms to wait for a reply once a request is sent (10000). */
  requestTimeout?: number;
  /** ms, first reconnect delay ceiling (500). */
  backoffBase?: number;
  /** ms, largest reconnect delay ceiling (15000). */
  backoffMax?: number;
  /** jitter source in [0, 1) (Math.random). */
  random?: () => number;
  /** candles kept per (symbol, interval) (1000). */
  candleLimit?: number;
  /** ms, longest wait before asking again for a book whose snapshot failed (10000). */
  resyncDelayMax?: number;
}

export type ErrorCode =
  | "bad_request" | "unknown_op" | "unknown_symbol" | "too_many_symbols" | "rate_limited"
  | "forbidden_symbol" | "unauthorized" | "message_too_big"
  | "timeout" | "closed" | "bad_input" | "transport" | "bad_message" | "unsupported" | "delisted";

/** An error reply from the server, or a client failure. */
export class TickerError extends Error {
  constructor(code: string, message: string, symbols?: string[]);
  code: ErrorCode | string;
  symbols: string[];
  /** The id of the request the server's error answers, if any. */
  id?: number | string;
}

/** Decimal strings: exactly what the server sent, never floats. */
export type Decimal = string;

export interface Quote {
  type: "snapshot" | "tick";
  symbol: string;
  seq: number;
  price: Decimal;
  bid: Decimal;
  ask: Decimal;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  volume: Decimal;
  /** Unix nanoseconds. */
  ts: number;
}

export interface QuoteInfo {
  /** Updates merged away before this one (a seq jump). */
  gap: number;
  /** now - ts, in ms. */
  latencyMs: number;
}

export interface Limits {
  type: "limits";
  max_message_bytes: number;
  max_symbols: number;
  max_request_symbols: number;
  messages_per_second: number;
  burst: number;
  ping_interval_ms: number;
  backlog_timeout_ms: number;
  auth: boolean;
  channels?: Array<"quotes" | "trades" | "candles" | "book">;
  max_rate?: number;
  trade_history?: number;
  trade_history_ms?: number;
  candle_history?: number;
  book_depths?: number[];
  compression?: boolean;
}

export interface StateEvent {
  state: State;
  attempt: number;
  reason?: string;
  /** ms until the next attempt. */
  delay?: number;
  /** Date.now() of the next attempt. */
  retryAt?: number;
}

export interface Trade {
  type: "trade";
  symbol: string;
  seq: number;
  price: Decimal;
  size: Decimal;
  side: "buy" | "sell" | "";
  ts: number;
  /** Sent again from the server's history after a resubscribe with "since". */
  replay?: true;
}

export interface Gap {
  type: "gap";
  channel: "trades";
  symbol: string;
  /** The inclusive range of seqs missed. */
  from: number;
  to: number;
  /** The client saw a hole no "gap" announced. */
  inferred?: true;
}

export interface Reset {
  type: "reset";
  channel: "quotes" | "trades" | "book" | string;
  symbol: string;
  epoch: number;
}

export interface Delisted {
  type: "delisted";
  symbol: string;
  ts: number;
}

export interface Candle {
  /** Unix ns, a multiple of the interval. */
  start: number;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  close: Decimal;
  volume: Decimal;
  trades: number;
  closed: boolean;
}

export type Interval = "1s" | "1m" | "5m" | "1h";

export interface CandleMessage extends Candle {
  type: "candle";
  symbol: string;
  interval: Interval;
}

export interface CandlesMessage {
  type: "candles";
  symbol: string;
  interval: Interval;
  candles: Candle[];
}

/** [price, size]; in a delta size "0" removes the level. */
export type Level = [Decimal, Decimal];

export interface BookMessage {
  type: "book";
  symbol: string;
  depth: 10 | 50 | 200;
  seq: number;
  snapshot?: true;
  prev_seq?: number;
  bids: Level[];
  asks: Level[];
  checksum: number;
  ts: number;
}

export interface SearchResult {
  prefix: string;
  symbols: string[];
  more: boolean;
}

export interface SubscribeResult {
  symbols: string[];
  unknown: string[];
  error: TickerError | null;
}

export interface RateOptions {
  /** Updates per second per symbol, 0.1 to 1000; absent: as fast as they happen. */
  maxRate?: number;
}

export interface Stats {
  state: State;
  messages: number;
  snapshots: number;
  ticks: number;
  /** Quote updates merged away (seq jumps). */
  merged: number;
  stale: number;
  reconnects: number;
  rttMs: number;
  latencyMs: number;
  trades: number;
  replayed: number;
  duplicates: number;
  /** "gap" messages, and the trades they named. */
  gaps: number;
  missed: number;
  /** Trades skipped without a "gap". */
  holes: number;
  candles: number;
  books: number;
  /** Book mismatches, each answered by a fresh snapshot. */
  resyncs: number;
  resets: number;
  delisted: number;
}

export interface ResyncEvent {
  symbol: string;
  depth: number;
  reason: string;
  seq: number;
  resyncs: number;
}

export interface ClientEvents {
  snapshot: (q: Quote, info: QuoteInfo) => void;
  tick: (q: Quote, info: QuoteInfo) => void;
  state: (s: StateEvent) => void;
  error: (err: TickerError) => void;
  message: (m: { type: string; [field: string]: unknown }) => void;
  limits: (l: Limits) => void;
  delisted: (m: Delisted) => void;
  reset: (m: Reset) => void;
  resync: (e: ResyncEvent) => void;
}

/** The resume state of a symbol's trades. */
export class TradeTape {
  constructor(since?: number);
  /** The last seq got: what a resubscribe names in "since"; undefined after a reset. */
  last: number | undefined;
  epoch: number | undefined;
  trade(m: Trade): "ok" | "dup" | [from: number, to: number];
  gap(m: Gap): void;
  reset(m: Reset): void;
}

/** One (symbol, interval)'s candles, oldest first. */
export class CandleSeries {
  constructor(limit?: number);
  limit: number;
  candles: Candle[];
  load(list: Candle[]): void;
  merge(m: CandleMessage): void;
}

/** A client's verified copy of one depth's view of an order book. */
export class OrderBook {
  constructor(symbol: string, depth: number);
  readonly symbol: string;
  readonly depth: number;
  seq: number;
  ts: number;
  /** The checksum of the last message, which the book matched. */
  checksum: number;
  valid: boolean;
  /** Best (highest) first. */
  bids: Level[];
  /** Best (lowest) first. */
  asks: Level[];
  /** null when the book is the server's view after m, else why not. */
  apply(m: BookMessage): string | null;
  invalidate(): void;
}

interface Handle {
  readonly channel: "trades" | "candles" | "book";
  readonly symbol: string;
  readonly closed: boolean;
  /** Resolves when the server confirmed the subscription; rejects if it cannot be had. */
  readonly ready: Promise<void>;
  /** Stops this handler; the subscription ends when no handler is left. */
  close(): void;
}

export interface TradesHandle extends Handle {
  readonly channel: "trades";
  readonly tape: TradeTape;
}

export interface CandlesHandle extends Handle {
  readonly channel: "candles";
  readonly interval: Interval;
  readonly candles: Candle[];
  setMaxRate(maxRate?: number): void;
}

export interface BookHandle extends Handle {
  readonly channel: "book";
  readonly depth: 10 | 50 | 200;
  readonly book: OrderBook;
  readonly resyncs: number;
  setMaxRate(maxRate?: number): void;
}

export class TickerClient {
  constructor(url?: string, opts?: ClientOptions);
  constructor(opts: ClientOptions & { url?: string });
  readonly url: string;
  readonly opts: Required<Omit<ClientOptions, "WebSocket">> & Pick<ClientOptions, "WebSocket">;
  readonly state: State;
  /** Latest snapshot or tick per subscribed symbol. */
  readonly quotes: Map<string, Quote>;
  /** The "limits" of the current connection, or null before it came. */
  readonly limits: Limits | null;
  /** The WebSocket extensions of the open connection ("permessage-deflate; ..." when compressed), or "". */
  readonly extensions: string;
  /** The quote symbols held (and resubscribed after a reconnect). */
  readonly symbols: string[];

  on<K extends keyof ClientEvents>(type: K, fn: ClientEvents[K]): () => void;
  off<K extends keyof ClientEvents>(type: K, fn: ClientEvents[K]): void;
  stats(): Stats;
  connect(): Promise<void>;
  close(): void;
  wake(): void;

  subscribe(symbols: string | string[], opts?: RateOptions): Promise<SubscribeResult>;
  unsubscribe(symbols: string | string[]): Promise<{ symbols: string[] }>;
  list(): Promise<string[]>;
  search(prefix?: string, limit?: number): Promise<SearchResult>;

  trades(symbol: string, handler: (m: Trade | Gap | Reset, tape: TradeTape) => void, opts?: { since?: number }): TradesHandle;
  candles(
    symbol: string,
    interval: Interval,
    handler: (candles: Candle[], m: CandlesMessage | CandleMessage) => void,
    opts?: RateOptions,
  ): CandlesHandle;
  book(
    symbol: string,
    depth: 10 | 50 | 200 | undefined,
    handler: (book: OrderBook, m: BookMessage) => void,
    opts?: RateOptions,
  ): BookHandle;
}

/** Creates a client and starts connecting. */
export function connect(url?: string, opts?: ClientOptions): TickerClient;

/** CRC-32 (IEEE) of an ASCII string, unsigned. */
export function crc32(s: string): number;
/** Kraken's book checksum of the top 10 levels: asks then bids, best first. */
export function bookChecksum(bids: Level[], asks: Level[]): number;
/** Compares decimal strings by value: -1, 0 or 1. */
export function compareDecimal(a: Decimal, b: Decimal): -1 | 0 | 1;
