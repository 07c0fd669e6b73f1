/**
 * The one parser of `Authorization: Bearer <token>`, for API keys and the admin key alike:
 * case-insensitive scheme, one token, surrounding spaces or tabs tolerated.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  return match?.[1];
}
