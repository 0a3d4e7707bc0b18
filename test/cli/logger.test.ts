import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/cli/logger.js';

/** A logger writing into memory; the text written so far. */
function capture(format: 'json' | 'pretty') {
  const destination = new PassThrough();
  let text = '';
  destination.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const log = createLogger({ logLevel: 'info', logFormat: format, fd: 1, destination });
  return { log, text: () => text };
}

describe('the process logger', () => {
  it('redacts secret fields wherever a log call puts them', () => {
    const { log, text } = capture('json');
    log.info(
      { databaseUrl: 'postgres://app:fieldsecret@db/x', config: { adminToken: 'tokensecret', s3: { secretAccessKey: 'awssecret' } }, headers: { authorization: 'Bearer bearersecret' } },
      'started',
    );
    const line = JSON.parse(text()) as Record<string, any>;
    expect(line.databaseUrl).toBe('[redacted]');
    expect(line.config.adminToken).toBe('[redacted]');
    expect(line.config.s3.secretAccessKey).toBe('[redacted]');
    expect(line.headers.authorization).toBe('[redacted]');
    expect(text()).not.toMatch(/fieldsecret|tokensecret|awssecret|bearersecret/);
  });

  it('redacts the JWT secret and the admin secret header', () => {
    const { log, text } = capture('json');
    log.info({ config: { auth: { jwtSecret: 'jwtsecretvalue' } }, headers: { 'x-hasura-admin-secret': 'adminheadersecret' } }, 'auth');
    expect(text()).not.toMatch(/jwtsecretvalue|adminheadersecret/);
  });

  it('masks a URL password in a message and in an error', () => {
    const { log, text } = capture('json');
    log.warn('could not reach postgres://app:msgsecret@db:5432/x');
    log.fatal({ err: Object.assign(new Error('bad postgres://app:errsecret@db/x'), { input: 'postgres://app:inputsecret@db/x' }) }, 'failed');
    expect(text()).toContain('postgres://app:***@db:5432/x');
    expect(text()).toContain('bad postgres://app:***@db/x');
    expect(text()).not.toMatch(/msgsecret|errsecret|inputsecret/);
  });

  it('writes human-readable lines when asked for pretty, JSON lines otherwise', () => {
    const pretty = capture('pretty');
    pretty.log.info({ port: 4000 }, 'GraphiQL is at http://localhost:4000/graphql');
    expect(pretty.text()).toMatch(/INFO.*GraphiQL is at http:\/\/localhost:4000\/graphql/);
    expect(() => JSON.parse(pretty.text())).toThrow();

    const json = capture('json');
    json.log.info('hello');
    expect(JSON.parse(json.text())).toMatchObject({ level: 30, msg: 'hello' });
  });
});
