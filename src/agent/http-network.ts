/**
 * The Network port over HTTP and WebSocket, for the device simulator talking to a running Lien
 * server. A phone build brings its own adapter (with TLS pinning); this one uses Node's fetch and
 * the `ws` client.
 */
import WebSocket from 'ws';
import type { CheckinResponse, EnrollRequest, EnrollResponse, NonceResponse } from '../protocol/index.ts';
import { OfflineError, type CloseStream, type Network, type Reply, type RequestHeaders } from './ports.ts';

export interface HttpNetworkOptions {
  /** e.g. http://localhost:8080 */
  baseUrl: string;
  /** Per request (default 15 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class HttpNetwork implements Network {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly fetcher: typeof fetch;

  constructor(opts: HttpNetworkOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.fetcher = opts.fetch ?? fetch;
  }

  nonce(): Promise<Reply<NonceResponse>> {
    return this.request('GET', '/v1/device/nonce', {}, undefined);
  }

  enroll(req: EnrollRequest): Promise<Reply<EnrollResponse>> {
    return this.request('POST', '/v1/device/enroll', {}, JSON.stringify(req));
  }

  checkin(_deviceId: string, headers: RequestHeaders, body: string): Promise<Reply<CheckinResponse>> {
    return this.request('POST', '/v1/device/checkin', headers, body);
  }

  connectStream(_deviceId: string, headers: RequestHeaders, onSync: () => void, onClose?: () => void): Promise<CloseStream> {
    const url = `${this.base.replace(/^http/, 'ws')}/v1/device/stream`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, handshakeTimeout: this.timeoutMs });
      let open = false;
      ws.on('open', () => {
        open = true;
        resolve(() => ws.close());
      });
      ws.on('message', (data) => {
        try {
          if ((JSON.parse(String(data)) as { type?: unknown }).type === 'sync') onSync();
        } catch {
          // Anything but a sync message is ignored: the stream only ever says "sync now".
        }
      });
      ws.on('error', (e) => {
        if (!open) reject(new OfflineError(`stream: ${e.message}`));
      });
      ws.on('close', () => {
        if (open) onClose?.();
      });
    });
  }

  private async request<T>(method: string, path: string, headers: RequestHeaders, body: string | undefined): Promise<Reply<T>> {
    let res: Response;
    try {
      res = await this.fetcher(`${this.base}${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new OfflineError(`${method} ${path}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // A proxy's HTML error page, say; reported below with the status.
    }
    if (res.ok) {
      if (parsed === undefined) return { ok: false, status: res.status, code: 'bad_response', message: `${method} ${path} answered without a JSON body` };
      return { ok: true, body: parsed as T };
    }
    // LienError bodies are { code, message } at the top level or under `error`.
    const err = (parsed as { error?: unknown } | undefined)?.error ?? parsed;
    const e = (err && typeof err === 'object' ? err : {}) as { code?: unknown; message?: unknown };
    return {
      ok: false,
      status: res.status,
      code: typeof e.code === 'string' ? e.code : `http_${res.status}`,
      message: typeof e.message === 'string' ? e.message : text.slice(0, 200),
    };
  }
}
