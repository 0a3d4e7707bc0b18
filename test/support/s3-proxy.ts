// A loopback HTTP proxy in front of the test S3 server that can be switched to answer 500s, to
// hang, or to pass requests through: an object store outage without stopping the server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'pass' | 'fail' | 'hang';

export interface S3Proxy {
  endpoint: string;
  /** Switched at any time; leaving 'hang' drops the held requests. */
  mode: ProxyMode;
  /** Requests answered since the proxy started, by how. */
  counts: Record<ProxyMode, number>;
  close(): Promise<void>;
}

export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const hanging = new Set<http.ServerResponse>();
  let mode: ProxyMode = 'pass';
  const proxy: S3Proxy = {
    endpoint: '',
    get mode() {
      return mode;
    },
    // Leaving 'hang' drops the requests it held, as a network that comes back would.
    set mode(next: ProxyMode) {
      mode = next;
      if (next !== 'hang') for (const response of hanging) response.destroy();
    },
    counts: { pass: 0, fail: 0, hang: 0 },
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((request, response) => {
    proxy.counts[mode]++;
    if (mode === 'fail') {
      request.resume();
      response.writeHead(500, { 'content-type': 'application/xml' });
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected outage</Message></Error>');
      return;
    }
    if (mode === 'hang') {
      request.resume();
      hanging.add(response);
      response.on('close', () => hanging.delete(response));
      return;
    }
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
