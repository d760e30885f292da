/**
 * A loopback fake of huggingface.co for pull tests: `GET|HEAD /{owner}/{name}/resolve/{revision}/{path}`
 * served from an in-memory map, with the real hub's headers (`ETag`, `X-Repo-Commit`, `X-Error-Code`; for
 * `.onnx` "LFS" files a 302 to a second loopback server, the "CDN", carrying `X-Linked-Size` and the sha256
 * in `X-Linked-Etag`), `Range` support on both servers, a request log and fault injection.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** repo → revision (branch) → file path → bytes. Mutable: tests change files between pulls. */
export type FakeRepos = Record<string, Record<string, Record<string, Uint8Array>>>;

export interface RecordedRequest {
  server: 'hub' | 'cdn';
  method: string;
  /** Request path and query as received. */
  url: string;
  /** Repo file path the request was for (decoded), when it was for one. */
  file: string | undefined;
  range: string | undefined;
  authorization: string | undefined;
}

export interface FakeHub {
  /** Use as HF_ENDPOINT. */
  endpoint: string;
  cdnOrigin: string;
  repos: FakeRepos;
  requests: RecordedRequest[];
  /** Next `times` GETs of `file` send `afterBytes` body bytes, then the socket is destroyed. */
  dropAfter(file: string, afterBytes: number, times?: number): void;
  /** GETs of these files serve bytes (same length) that do not match the advertised sha256. */
  corrupt: Set<string>;
  /** GETs of these files ignore `Range` and answer 200 with the whole file. */
  ignoreRange: Set<string>;
  /** Next `times` requests (HEAD or GET) for `file` answer `status`. */
  failWith(file: string, status: number, times?: number): void;
  /** When set, the hub answers 401 without `Authorization: Bearer <token>` and 403 with another token. */
  requiredToken: string | undefined;
  /** Delay between body chunks of 64 KiB, ms (0: none). */
  chunkDelayMs: number;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function commitOf(repo: string, revision: string): string {
  return createHash('sha1').update(`${repo}@${revision}`).digest('hex');
}

/** Files stored in LFS (served through the CDN): ONNX graphs and their external weights. */
function isLfs(file: string): boolean {
  return file.endsWith('.onnx') || file.endsWith('.onnx_data') || file.endsWith('.data');
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

/** Starts the hub and CDN servers on random loopback ports. */
export async function startFakeHub(repos: FakeRepos): Promise<FakeHub> {
  const drops = new Map<string, { afterBytes: number; times: number }>();
  const failures = new Map<string, { status: number; times: number }>();

  /** Finds a file by repo, revision (branch or fake commit) and path; or the hub error to answer. */
  function lookup(
    repo: string,
    revision: string,
    file: string,
  ): { bytes: Uint8Array; commit: string; branch: string } | { status: number; code: string } {
    const revisions = hub.repos[repo];
    if (!revisions) return { status: 404, code: 'RepoNotFound' };
    const branch = Object.keys(revisions).find(
      (name) => name === revision || commitOf(repo, name) === revision,
    );
    if (branch === undefined) return { status: 404, code: 'RevisionNotFound' };
    const bytes = revisions[branch]![file];
    if (!bytes) return { status: 404, code: 'EntryNotFound' };
    return { bytes, commit: commitOf(repo, branch), branch };
  }

  function takeFailure(file: string): number | undefined {
    const failure = failures.get(file);
    if (!failure || failure.times <= 0) return undefined;
    failure.times -= 1;
    return failure.status;
  }

  /** Serves `bytes` honouring Range, corruption and drop faults. */
  function sendBody(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    file: string,
    bytes: Uint8Array,
    headers: Record<string, string>,
  ): void {
    let body = Buffer.from(bytes);
    if (hub.corrupt.has(file) && body.length > 0) {
      body = Buffer.from(body);
      body[body.length >> 1]! ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let status = 200;
    let start = 0;
    if (range && !hub.ignoreRange.has(file)) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const slice = body.subarray(start);
    res.writeHead(status, { ...headers, 'accept-ranges': 'bytes', 'content-length': String(slice.length) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const drop = drops.get(file);
    let limit = slice.length;
    let dropping = false;
    if (drop && drop.times > 0) {
      drop.times -= 1;
      limit = Math.min(drop.afterBytes, slice.length);
      dropping = true;
    }
    let sent = 0;
    const pump = (): void => {
      if (sent >= limit) {
        if (dropping) res.socket?.destroy();
        else res.end();
        return;
      }
      const piece = slice.subarray(sent, Math.min(limit, sent + CHUNK));
      sent += piece.length;
      const next = (): void => {
        if (hub.chunkDelayMs > 0) setTimeout(pump, hub.chunkDelayMs);
        else setImmediate(pump);
      };
      // Wait for the write to flush so a drop happens after exactly `afterBytes` reached the socket.
      res.write(piece, () => next());
    };
    pump();
  }

  function record(server: 'hub' | 'cdn', req: http.IncomingMessage, file: string | undefined): void {
    hub.requests.push({
      server,
      method: req.method ?? '',
      url: req.url ?? '',
      file,
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
  }

  const hubServer = http.createServer((req, res) => {
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec((req.url ?? '').split('?')[0]!);
    const file = match ? match[3]!.split('/').map(decodeURIComponent).join('/') : undefined;
    record('hub', req, file);
    if (!match || file === undefined) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
      return;
    }
    const repo = match[1]!;
    const revision = decodeURIComponent(match[2]!);
    if (hub.requiredToken !== undefined) {
      const auth = req.headers.authorization;
      if (auth === undefined) {
        res.writeHead(401, { 'x-error-message': 'Access to this model is restricted.' }).end();
        return;
      }
      if (auth !== `Bearer ${hub.requiredToken}`) {
        res.writeHead(403, { 'x-error-message': 'Invalid credentials in Authorization header' }).end();
        return;
      }
    }
    const failure = takeFailure(file);
    if (failure !== undefined) {
      res.writeHead(failure).end();
      return;
    }
    const found = lookup(repo, revision, file);
    if ('status' in found) {
      res
        .writeHead(found.status, { 'x-error-code': found.code, 'x-error-message': `${found.code} (fake)` })
        .end();
      return;
    }
    const common = { 'x-repo-commit': found.commit };
    if (isLfs(file)) {
      const digest = sha256(found.bytes);
      const location = `${hub.cdnOrigin}/blobs/${digest}?repo=${encodeURIComponent(repo)}&rev=${found.commit}&file=${encodeURIComponent(file)}`;
      const note = Buffer.from(`Found. Redirecting to ${location}`);
      res.writeHead(302, {
        ...common,
        location,
        'x-linked-size': String(found.bytes.length),
        'x-linked-etag': `"${digest}"`,
        etag: `"${digest}"`,
        'content-length': String(note.length),
      });
      res.end(req.method === 'HEAD' ? undefined : note);
      return;
    }
    // A git file's ETag is its blob id: sha1 of "blob <size>\0" and the bytes, as git hashes objects.
    const blob = createHash('sha1').update(`blob ${found.bytes.length}\0`).update(found.bytes);
    const etag = `"${blob.digest('hex')}"`;
    sendBody(req, res, file, found.bytes, { ...common, etag });
  });

  const cdnServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '', 'http://cdn');
    const file = url.searchParams.get('file') ?? undefined;
    record('cdn', req, file);
    const found = lookup(url.searchParams.get('repo') ?? '', url.searchParams.get('rev') ?? '', file ?? '');
    if ('status' in found || file === undefined || url.pathname !== `/blobs/${sha256(found.bytes)}`) {
      res.writeHead(404).end();
      return;
    }
    sendBody(req, res, file, found.bytes, { etag: `"${sha256(found.bytes)}"` });
  });

  const hub: FakeHub = {
    endpoint: await listen(hubServer),
    cdnOrigin: await listen(cdnServer),
    repos,
    requests: [],
    dropAfter: (file, afterBytes, times = 1) => drops.set(file, { afterBytes, times }),
    corrupt: new Set(),
    ignoreRange: new Set(),
    failWith: (file, status, times = 1) => failures.set(file, { status, times }),
    requiredToken: undefined,
    chunkDelayMs: 0,
    close: async () => {
      for (const server of [hubServer, cdnServer]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
  return hub;
}
