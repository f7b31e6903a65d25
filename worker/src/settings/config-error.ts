/** A var that is set but makes no sense: the worker refuses to guess what was meant. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
