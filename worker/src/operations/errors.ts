/**
 * A request an operation cannot take as given (a malformed cursor, say): the caller's to fix.
 * Each front door words it its own way (the API as 400, the console as a page).
 */
export class InvalidRequestError extends Error {
  override readonly name = "InvalidRequestError";
}
