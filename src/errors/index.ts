// The few typed errors every layer may throw; the GraphQL layer maps them to codes and messages.

/** Base for errors whose message is meant for the user; anything else is masked as internal. */
export abstract class GatewayError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that breaks a rule: a bad definition, value, filter or argument. Nothing was written. */
export class ValidationError extends GatewayError {
  readonly code = 'BAD_USER_INPUT';
}

/** A named thing (entity, row, file) does not exist. */
export class NotFoundError extends GatewayError {
  readonly code = 'NOT_FOUND';
}

/** The caller lacks the credential an operation needs. */
export class AuthError extends GatewayError {
  readonly code = 'FORBIDDEN';
}

/** What an operation read changed before it could commit; retrying may succeed. */
export class ConflictError extends GatewayError {
  readonly code = 'CONFLICT';
}

/** Configuration (environment or definitions) that stops the process from starting. */
export class ConfigError extends GatewayError {
  readonly code = 'CONFIG';
}

/** An operation ran past its time bound and was stopped; a narrower request may fit. */
export class TimeoutError extends GatewayError {
  readonly code = 'TIMEOUT';
}

/** A service the operation needs (the lake's object store, say) does not answer; retrying later may succeed. */
export class UnavailableError extends GatewayError {
  readonly code = 'UNAVAILABLE';
}

/** A request passed a bound of the process (rows, response bytes); the message names the setting. */
export class LimitError extends GatewayError {
  readonly code = 'LIMIT_EXCEEDED';
}

/** The process is at its bound of concurrent work and its queue is full or waited too long; retry later. */
export class BusyError extends GatewayError {
  readonly code = 'BUSY';
}
