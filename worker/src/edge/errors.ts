/** The one error type HTTP handlers throw; the app's error handler turns it into JSON. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503;
  readonly headers: Record<string, string>;

  constructor(status: HttpError["status"], message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}
