/**
 * How a producer's text travels in a backend header (`X-Trace-Id`, `x-tenant-id`). Visible ASCII
 * and inner spaces go as they are. Anything else (Arabic, other non-ASCII, control characters)
 * goes as an RFC 8187 ext-value: `UTF-8''` followed by the percent-encoded UTF-8 bytes. A plain
 * value that itself begins with `UTF-8''` is encoded too, so the prefix always means encoded.
 */
const PREFIX = "UTF-8''";
const PLAIN = /^[\x20-\x7e]*$/;

export function encodeHeaderValue(text: string): string {
  // A lone surrogate (a string cut mid-emoji) cannot be UTF-8: it travels as U+FFFD.
  const value = text.toWellFormed();
  const plain =
    PLAIN.test(value) && value.trim() === value && !value.toUpperCase().startsWith(PREFIX.toUpperCase());
  return plain ? value : `${PREFIX}${encodeURIComponent(value)}`;
}

/** The inverse, for backends (the reference backend uses it); a malformed encoding is returned as is. */
export function decodeHeaderValue(value: string): string {
  if (!value.toUpperCase().startsWith(PREFIX.toUpperCase())) return value;
  try {
    return decodeURIComponent(value.slice(PREFIX.length));
  } catch {
    return value;
  }
}
